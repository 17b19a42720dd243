"""The stores in the Datacoves dbt API: its public v3 routes
(:mod:`~datacoves_airflow_provider.dbt.api_client`) and the internal routes a Datacoves worker calls
(:mod:`~datacoves_airflow_provider.dbt.platform_api`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from datacoves_airflow_provider.dbt.stores.base import SHARED_TAG, ArtifactKey

if TYPE_CHECKING:
    from datacoves_airflow_provider.dbt.api_client import DbtApiClient
    from datacoves_airflow_provider.dbt.platform_api import DbtPlatformApiClient

__all__ = ["DbtApiArtifactStore", "PlatformArtifactStore"]

_Client = TypeVar("_Client", "DbtApiClient", "DbtPlatformApiClient")


class _ClientStore(Generic[_Client]):
    """What both dbt API stores share: the client, and a description of where it points.

    :param client: the API client.
    """

    #: :attr:`description`'s template, filled with the client's settings as ``s`` (no secrets).
    _where: str

    def __init__(self, client: _Client) -> None:
        self.client: _Client = client
        self.description = self._where.format(s=client.settings)


class DbtApiArtifactStore(_ClientStore["DbtApiClient"]):
    """Artifacts in the Datacoves dbt API.

    Shared artifacts are stored under their own name with the tag ``latest``. Run-scoped ones are
    stored as ``<dag>/<run>/<task>/<name>`` (the run id percent-encoded) with the upload tag, so
    ``GET .../files?tag=<run id>`` lists a run's uploads.

    :param client: the API client.
    """

    _where = (
        "the dbt API at {s.endpoint} (account {s.account}, project {s.project}, environment {s.environment})"
    )

    @staticmethod
    def filename(key: ArtifactKey) -> str:
        """The name a key is stored under in the API.

        :param key: the artifact.
        """
        return key.name if key.run is None else "/".join((*key.run.parts(), key.name))

    def download(self, key: ArtifactKey, destination: Path) -> bool:
        """See :meth:`ArtifactStore.download`. Shared artifacts are read at tag ``latest``, run-scoped
        ones at their most recent upload (their name is already unique to the task instance)."""
        tag = key.tag if key.run is None else None
        return self.client.download(self.filename(key), destination, tag=tag)

    def upload(self, key: ArtifactKey, source: Path) -> None:
        """See :meth:`ArtifactStore.upload`."""
        self.client.upload(
            self.filename(key), source, tag=key.tag, is_manifest=os.path.basename(key.name) == "manifest.json"
        )


class PlatformArtifactStore(_ClientStore["DbtPlatformApiClient"]):
    """Artifacts in the dbt API through the internal routes a Datacoves worker calls.

    Static (shared) artifacts follow the platform's own convention: uploaded with the tag
    ``latest-<stem>`` (e.g. ``latest-partial_parse``) and read back as the latest upload of their
    file name. Run-scoped ones are uploaded under their file name with the tag
    ``<upload_tag>-<dag>/<run>/<task>/<name>`` and read back by that tag, so two tasks of one DAG
    run (or two runs with the same ``upload_tag``) never read or replace each other's files.

    :param client: the internal API client.
    """

    _where = (
        "the platform's dbt API at {s.url} (internal routes, project {s.project}, "
        "environment {s.environment})"
    )

    @staticmethod
    def tag(key: ArtifactKey) -> str:
        """The tag a key is stored with: ``latest-<stem>`` or ``<upload_tag>-<dag>/<run>/<task>/<name>``.

        :param key: the artifact.
        """
        if key.run is None:
            return f"{SHARED_TAG}-{Path(key.name).stem}"
        return f"{key.tag}-" + "/".join((*key.run.parts(), key.name))

    def download(self, key: ArtifactKey, destination: Path) -> bool:
        """See :meth:`ArtifactStore.download`: static artifacts by file name, run-scoped ones by tag."""
        if key.run is None:
            return self.client.download(destination, filename=os.path.basename(key.name))
        return self.client.download(destination, tag=self.tag(key))

    def upload(self, key: ArtifactKey, source: Path) -> None:
        """See :meth:`ArtifactStore.upload`."""
        self.client.upload(source, tag=self.tag(key), filename=os.path.basename(key.name))

    def download_latest_manifest(self, destination: Path) -> bool:
        """The project's latest manifest (``latest-manifest``, untrimmed); False when there is none.

        :param destination: the local path to write.
        """
        return self.client.latest_manifest(destination, trimmed=False)
