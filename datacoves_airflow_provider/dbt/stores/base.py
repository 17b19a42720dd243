"""What every dbt artifact store shares: the keys artifacts are stored under, and the interface.

**Keys.** Two kinds of artifact exist. *Shared* ones (dbt's static artifacts, such as
``partial_parse.msgpack``) belong to the environment and are stored with the tag ``latest``.
*Run-scoped* ones (``run_results.json``, ``sources.json``, additional files) belong to one task
instance: their key holds the DAG id, the run id and the task id (and the map index of a mapped
task), so concurrent DAG runs, or two dbt tasks in one run, never read each other's state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from datacoves_airflow_provider.exceptions import InvalidArgumentError

__all__ = ["SHARED_TAG", "ArtifactKey", "ArtifactStore", "RunScope", "key_part"]

#: The tag of shared artifacts, as the Datacoves docs name it.
SHARED_TAG = "latest"


@dataclass(frozen=True)
class RunScope:
    """The task instance a run-scoped artifact belongs to.

    :param dag_id: the DAG.
    :param run_id: the DAG run.
    :param task_id: the task.
    :param map_index: the map index of a mapped task instance (-1 when not mapped).
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def parts(self) -> tuple[str, str, str]:
        """The key's path parts: DAG id, run id (percent-encoded: it may hold ``/``), task id, each
        made safe as a folder name and an S3 key segment by :func:`key_part`."""
        task = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        return key_part(self.dag_id), key_part(quote(self.run_id, safe="")), key_part(task)


#: Longest key part, in bytes: file systems cap a file name at 255 bytes.
_MAX_PART_BYTES = 255
#: Bytes of a too-long part kept before its hash, so the key still says which run it is.
_KEPT_BYTES = 160
#: Marks a shortened part. Neither a percent-encoded run id (``%`` is always followed by two hex
#: digits) nor a DAG or task id (no ``%`` at all) ever holds it, so no other part can look the same.
_HASH_MARK = "%~"


def key_part(part: str) -> str:
    """``part`` made safe as one path segment of a key, without colliding with any other part.

    Ordinary parts come back unchanged (so keys stored by earlier versions are still found).
    ``.`` and ``..``, which a folder or an S3 path cannot hold as a segment (a run id can be
    ``..``: ``airflow dags trigger --run-id ..``), become ``%2E`` and ``%2E%2E`` (the percent-encoding
    of the run id, undone by ``unquote``; DAG and task ids never hold ``%``). A part longer than
    255 bytes becomes its first bytes, ``%~`` and a SHA-256 of the whole part.

    :param part: a DAG id, a percent-encoded run id, or a task id (with its map index).
    """
    if part in (".", ".."):
        return part.replace(".", "%2E")
    data = part.encode("utf-8", "surrogatepass")
    if len(data) <= _MAX_PART_BYTES:
        return part
    import hashlib

    kept = data[:_KEPT_BYTES].decode("utf-8", "ignore")
    if "%" in kept[-2:]:  # do not cut a %XX escape in two
        kept = kept[: kept.rindex("%")]
    return f"{kept}{_HASH_MARK}{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True)
class ArtifactKey:
    """One stored artifact.

    :param name: its path relative to the dbt project, e.g. ``run_results.json``,
        ``target/manifest.json``.
    :param run: the task instance it belongs to, or None for a shared artifact.
    :param tag: its label: ``latest`` for shared artifacts, ``upload_tag`` (default: the run id)
        for run-scoped ones.
    """

    name: str
    run: RunScope | None
    tag: str

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(
                f"ArtifactKey name must be a non-empty path relative to the dbt project, "
                f"e.g. 'target/manifest.json', got {name!r}"
            )
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or os.path.isabs(name) or any(p in ("", ".", "..") for p in parts):
            raise InvalidArgumentError(
                f"ArtifactKey name {name!r} must stay inside the store's folder: use a relative path "
                "without a leading '/' and without '..', '.' or empty parts, e.g. 'target/manifest.json'"
            )
        if self.run is not None:
            bad = [p for p in self.run.parts() if p == ""]
            if bad:
                raise InvalidArgumentError(
                    f"ArtifactKey run {self.run!r} has an empty id, which cannot be a folder name"
                )

    @property
    def path(self) -> str:
        """The key as a relative path: ``latest/<name>`` or ``runs/<dag>/<run>/<task>/<name>``."""
        if self.run is None:
            return f"{SHARED_TAG}/{self.name}"
        return "/".join(("runs", *self.run.parts(), self.name))


class ArtifactStore(Protocol):
    """What the dbt operator needs from a store. Methods raise on failure; the caller decides."""

    #: Says where artifacts go, for log lines (no secrets).
    description: str

    def download(self, key: ArtifactKey, destination: Path) -> bool:
        """Write the artifact to ``destination``; False when the store does not have it.

        :param key: the artifact.
        :param destination: the local path to write (its folder may not exist yet).
        """
        ...

    def upload(self, key: ArtifactKey, source: Path) -> None:
        """Store ``source`` as the artifact, replacing any earlier version of the same key.

        :param key: the artifact.
        :param source: the local file.
        """
        ...
