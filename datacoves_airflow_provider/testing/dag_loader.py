"""Find and load the DAGs of a folder the way Airflow's DAG processor does, on Airflow 2.11 and 3.x.

Used by the ready-made checks, the parse checker, and DAG tests users write themselves::

    from datacoves_airflow_provider.testing.dag_loader import load_dag_bag

    dag_bag = load_dag_bag()          # [core] dags_folder (AIRFLOW__CORE__DAGS_FOLDER), no examples
    assert not dag_bag.import_errors

The DAGs folder is appended to ``sys.path`` as Airflow does, so DAG files import their siblings;
imports from the repository root (``from orchestrate.utils import ...``) need the repository on
``PYTHONPATH``, as on a Datacoves worker and in the docs' CI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

__all__ = ["add_to_sys_path", "dag_file_paths", "display_path", "load_dag_bag", "resolve_dags_folder"]


def resolve_dags_folder(dags_folder: str | os.PathLike[str] | None = None) -> Path:
    """The absolute DAGs folder: ``dags_folder`` when given, else Airflow's ``[core] dags_folder``.

    :param dags_folder: a folder (or a single DAG file); relative paths are taken from the current
        directory.
    """
    if dags_folder is None or str(dags_folder) == "":
        from datacoves_airflow_provider.compat import conf

        dags_folder = conf.get("core", "dags_folder")
    return Path(os.path.expanduser(dags_folder)).resolve()


def add_to_sys_path(dags_folder: Path) -> None:
    """Append the DAGs folder to ``sys.path`` when it is missing (Airflow does the same).

    :param dags_folder: the folder; for a single file, its parent folder is added.
    """
    folder = str(dags_folder if dags_folder.is_dir() else dags_folder.parent)
    if folder not in sys.path:
        sys.path.append(folder)


def dag_file_paths(dags_folder: Path) -> list[Path]:
    """The Python files Airflow would parse in ``dags_folder``, sorted.

    Honours ``.airflowignore`` and ``[core] dag_discovery_safe_mode`` (files must mention both
    "airflow" and "dag"), like the DAG processor.

    :param dags_folder: a folder or a single file.
    """
    from airflow.utils.file import find_dag_file_paths

    from datacoves_airflow_provider.compat import conf

    safe_mode = conf.getboolean("core", "dag_discovery_safe_mode", fallback=True)
    return sorted(Path(p) for p in find_dag_file_paths(str(dags_folder), safe_mode=safe_mode))


def load_dag_bag(dags_folder: str | os.PathLike[str] | None = None) -> DagBag:
    """A DagBag of ``dags_folder`` (default: Airflow's DAGs folder), without Airflow's example DAGs.

    Works on both Airflow lines (the class moved and lost ``include_examples`` in Airflow 3), and
    keeps Airflow's "Filling up the DagBag" log lines out of test output.

    :param dags_folder: a folder or a single DAG file.
    """
    from datacoves_airflow_provider.compat import new_dag_bag

    folder = resolve_dags_folder(dags_folder)
    if not folder.exists():
        raise FileNotFoundError(f"DAGs folder {folder} does not exist")
    add_to_sys_path(folder)
    with _quiet_airflow_logs():
        return new_dag_bag(folder)


def display_path(path: str | os.PathLike[str], dags_folder: Path | None) -> str:
    """``path`` relative to the DAGs folder when inside it, else to the current directory, else absolute.

    :param path: a file path (absolute, or relative to the current directory).
    :param dags_folder: the DAGs folder, if known.
    """
    absolute = Path(path).resolve()
    for base in ([dags_folder if dags_folder.is_dir() else dags_folder.parent] if dags_folder else []) + [
        Path.cwd()
    ]:
        with contextlib.suppress(ValueError):
            return str(absolute.relative_to(base))
    return str(absolute)


@contextlib.contextmanager
def _quiet_airflow_logs() -> Iterator[None]:
    logger = logging.getLogger("airflow")
    previous = logger.level
    logger.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(previous)
