"""The folder store: the default outside Datacoves, shared only by the workers that see the same disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from datacoves_airflow_provider.atomic_file import atomic_destination
from datacoves_airflow_provider.dbt.stores.base import ArtifactKey
from datacoves_airflow_provider.exceptions import InvalidArgumentError

__all__ = ["LocalArtifactStore"]


class LocalArtifactStore:
    """Artifacts in a local folder, laid out as :attr:`ArtifactKey.path`.

    :param root: the folder (created on first upload).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"folder {root}"

    def _stored(self, key: ArtifactKey) -> Path:
        """Where the key lives: always inside :attr:`root` (keys are checked when created, and again here)."""
        stored = self.root / key.path
        if not os.path.normpath(stored).startswith(os.path.join(os.path.normpath(self.root), "")):
            raise InvalidArgumentError(
                f"artifact {key.path!r} would be stored outside the folder {self.root}"
            )
        return stored

    def download(self, key: ArtifactKey, destination: Path) -> bool:
        """See :meth:`ArtifactStore.download`."""
        stored = self._stored(key)
        if not stored.is_file():
            return False
        with atomic_destination(destination) as partial:
            shutil.copyfile(stored, partial)
        return True

    def upload(self, key: ArtifactKey, source: Path) -> None:
        """See :meth:`ArtifactStore.upload`."""
        with atomic_destination(self._stored(key)) as partial:
            shutil.copyfile(source, partial)
