"""What the tasks of a scenario DAG (tests/dags) leave for the tests to check: the files they write
into the folder named by ``EVIDENCE``, and the staging folders (private repository copies) whose
paths those files name."""

from __future__ import annotations

from pathlib import Path


def read(evidence: Path, name: str) -> str:
    """The text a task wrote to ``evidence / name``, stripped; fails when the task did not write it.

    :param evidence: the folder the DAG's tasks got as ``EVIDENCE``.
    :param name: the file's name.
    """
    path = evidence / name
    assert path.exists(), f"task did not write {name}"
    return path.read_text().strip()


def staging_folder(path: str) -> Path:
    """The ``datacoves-stage*`` folder that holds ``path`` (a task's private copy, or a folder in it).

    :param path: a path a task saw (its working directory, ``DATACOVES__REPO_PATH``...).
    """
    stage = Path(path)
    while not stage.name.startswith("datacoves-stage"):
        assert stage != stage.parent, f"{path} is not in a staging folder"
        stage = stage.parent
    return stage


def assert_gone(path: str) -> None:
    """The staging folder that held ``path`` has been removed.

    :param path: a path a task saw in its private copy.
    """
    stage = staging_folder(path)
    assert not stage.exists(), f"staging folder {stage} was left behind"
