"""Where dbt artifacts are kept between tasks and tries: one small interface, four stores.

- :class:`DbtApiArtifactStore`: the Datacoves dbt API's public v3 routes
  (:mod:`~datacoves_airflow_provider.dbt.api_client`).
- :class:`PlatformArtifactStore`: the dbt API's internal routes a Datacoves worker calls
  (:mod:`~datacoves_airflow_provider.dbt.platform_api`).
- :class:`S3ArtifactStore`: an S3 bucket and prefix, through the amazon provider's ``S3Hook``.
- :class:`LocalArtifactStore`: a folder (the default outside Datacoves; shared only by the
  workers that see the same disk).

The store is chosen by configuration, never by code: ``[datacoves] dbt_artifact_store`` in
airflow.cfg, or ``AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE`` (see :func:`artifact_store_from_config`).

The stores live in :mod:`datacoves_airflow_provider.dbt.stores` (the keys and the interface in
:mod:`~datacoves_airflow_provider.dbt.stores.base`); this module chooses one and re-exports them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from datacoves_airflow_provider.dbt.stores.base import (
    SHARED_TAG,
    ArtifactKey,
    ArtifactStore,
    RunScope,
    key_part,
)
from datacoves_airflow_provider.dbt.stores.dbt_api import DbtApiArtifactStore, PlatformArtifactStore
from datacoves_airflow_provider.dbt.stores.local import LocalArtifactStore
from datacoves_airflow_provider.dbt.stores.s3 import (  # noqa: F401 (TAG_METADATA: defined here before)
    TAG_METADATA,
    S3ArtifactStore,
    decode_metadata_value,
    encode_metadata_value,
)
from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = [
    "SHARED_TAG",
    "ArtifactKey",
    "ArtifactStore",
    "ArtifactStoreConfigError",
    "DbtApiArtifactStore",
    "LocalArtifactStore",
    "PlatformArtifactStore",
    "RunScope",
    "S3ArtifactStore",
    "StoreChoice",
    "artifact_store_from_config",
    "choose_artifact_store",
    "decode_metadata_value",
    "encode_metadata_value",
    "key_part",
]

#: ``[datacoves] dbt_artifact_store`` value that selects the dbt API's public v3 routes.
API_STORE = "api"
#: ``[datacoves] dbt_artifact_store`` value that selects the dbt API's internal (platform) routes.
PLATFORM_STORE = "platform"
#: Variables whose presence means the task runs on a Datacoves worker.
PLATFORM_MARKERS = ("DATACOVES__AIRFLOW_TYPE", "DATACOVES__ENVIRONMENT_SLUG")
#: The AWS connection of the S3 store when ``[datacoves] dbt_artifact_store_conn_id`` is not set.
DEFAULT_AWS_CONN_ID = "aws_default"


class ArtifactStoreConfigError(DatacovesError, ValueError):
    """The artifact store setting cannot work; the message names the setting and the fix."""


@dataclass(frozen=True)
class StoreChoice:
    """The store a task uses and why.

    :param store: the store.
    :param reason: where the choice came from (a setting or a variable), for the log line.
    :param warning: a loud warning to log (a Datacoves worker that falls back to a local folder).
    """

    store: ArtifactStore
    reason: str
    warning: str | None = None


def artifact_store_from_config() -> ArtifactStore:
    """The store ``[datacoves] dbt_artifact_store`` names (env: ``AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE``),
    as :func:`choose_artifact_store` chooses it."""
    return choose_artifact_store().store


def choose_artifact_store() -> StoreChoice:
    """The store ``[datacoves] dbt_artifact_store`` names (env: ``AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE``),
    and why.

    - ``platform``: the dbt API's internal routes (``DATACOVES__DBT_API_URL``, or
      ``DATACOVES__EXTERNAL_URL`` with ``DATACOVES__USE_EXTERNAL_URL``; the Airflow Variable
      ``datacoves-dbt-api-secret``; project and environment slugs).
    - ``api``: the dbt API's public v3 routes (``DATACOVES__API_ENDPOINT``, ``DATACOVES__API_TOKEN``,
      account, project and environment slugs).
    - ``s3://bucket/prefix``: S3, with the AWS connection ``[datacoves] dbt_artifact_store_conn_id``
      (default ``aws_default``).
    - ``/a/folder`` or ``file:///a/folder``: a local folder (absolute; ``file://host/...`` and
      relative folders are refused).
    - empty (default): ``platform`` when ``DATACOVES__DBT_API_URL`` (or the external URL) is set,
      else ``api`` when ``DATACOVES__API_ENDPOINT`` is set, otherwise the folder
      ``$AIRFLOW_HOME/dbt_artifacts`` (with a warning in the choice on a Datacoves worker).
    """
    from datacoves_airflow_provider.compat import conf
    from datacoves_airflow_provider.dbt.platform_api import platform_api_url

    setting = (conf.get("datacoves", "dbt_artifact_store", fallback="") or "").strip()
    warning = None
    if setting:
        reason = f"[datacoves] dbt_artifact_store={setting!r}"
    elif (found := platform_api_url()) is not None:
        setting, reason = PLATFORM_STORE, f"{found[1]} (no [datacoves] dbt_artifact_store setting)"
    elif os.environ.get("DATACOVES__API_ENDPOINT", "").strip():
        setting, reason = API_STORE, "DATACOVES__API_ENDPOINT (no [datacoves] dbt_artifact_store setting)"
    else:
        home = conf.get("core", "airflow_home", fallback="") or os.environ.get("AIRFLOW_HOME", "")
        setting = os.path.join(home or os.path.expanduser("~/airflow"), "dbt_artifacts")
        reason = (
            "the default: no [datacoves] dbt_artifact_store setting, no DATACOVES__DBT_API_URL "
            "and no DATACOVES__API_ENDPOINT"
        )
        markers = [
            f"{n}={os.environ[n].strip()!r}" for n in PLATFORM_MARKERS if os.environ.get(n, "").strip()
        ]
        if markers:
            warning = (
                f"dbt artifact store: this task runs on a Datacoves worker ({', '.join(markers)}) with "
                "dbt_api_enabled=True, but no dbt API is configured, so artifacts go to the folder "
                f"{setting} on this worker's own disk: a retry on another worker or pod will not find "
                "them. Set "
                "DATACOVES__DBT_API_URL and the Airflow Variable 'datacoves-dbt-api-secret' (the platform "
                "sets both when the dbt API is enabled for the environment), or DATACOVES__API_ENDPOINT and "
                "DATACOVES__API_TOKEN, or [datacoves] dbt_artifact_store (e.g. s3://bucket/prefix)"
            )
    return StoreChoice(_store_for(setting), reason, warning)


def _store_for(setting: str) -> ArtifactStore:
    """The store a (non-empty) ``dbt_artifact_store`` value names.

    :param setting: the value.
    """
    from datacoves_airflow_provider.compat import conf

    if setting == PLATFORM_STORE:
        from datacoves_airflow_provider.dbt.platform_api import (
            DbtPlatformApiClient,
            DbtPlatformApiSettings,
        )
        from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError

        try:
            platform = DbtPlatformApiSettings.from_environment()
        except DatacovesApiConfigError as exc:
            raise ArtifactStoreConfigError(f"the dbt artifact store is 'platform', but {exc}") from None
        return PlatformArtifactStore(DbtPlatformApiClient(platform))
    if setting == API_STORE:
        from datacoves_airflow_provider.compat import mask_secret
        from datacoves_airflow_provider.dbt.api_client import DbtApiClient
        from datacoves_airflow_provider.http.datacoves_api import (
            DatacovesApiConfigError,
            DatacovesApiSettings,
        )

        try:
            settings = DatacovesApiSettings.from_environment(purpose="The dbt API")
        except DatacovesApiConfigError as exc:
            raise ArtifactStoreConfigError(f"[datacoves] dbt_artifact_store is 'api', but {exc}") from None
        mask_secret(settings.token)
        return DbtApiArtifactStore(DbtApiClient(settings))
    parsed = urlparse(setting)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ArtifactStoreConfigError(
                f"[datacoves] dbt_artifact_store={setting!r} names no bucket; use s3://<bucket>/<prefix>"
            )
        if not _S3_BUCKET.match(parsed.netloc):
            raise ArtifactStoreConfigError(
                f"[datacoves] dbt_artifact_store={setting!r}: {parsed.netloc!r} is not an S3 bucket name "
                "(letters, digits, '.', '-' and '_' only, at most 255 characters); use s3://<bucket>/<prefix>"
            )
        conn_id = (conf.get("datacoves", "dbt_artifact_store_conn_id", fallback="") or "").strip()
        conn_id = conn_id or DEFAULT_AWS_CONN_ID
        if conn_id != DEFAULT_AWS_CONN_ID:  # without aws_default, boto3 uses the worker's own credentials
            _check_connection(conn_id)
        return S3ArtifactStore(parsed.netloc, parsed.path, conn_id)
    if parsed.scheme == "file":
        return LocalArtifactStore(_file_url_folder(setting, parsed))
    if not parsed.scheme and os.path.isabs(setting):
        return LocalArtifactStore(Path(setting))
    if not parsed.scheme:
        raise ArtifactStoreConfigError(
            f"[datacoves] dbt_artifact_store={setting!r} is not a store this provider knows: a folder "
            "must be an absolute path (a relative one would depend on the worker's current folder); "
            "use e.g. /opt/airflow/dbt_artifacts or file:///opt/airflow/dbt_artifacts"
        )
    raise ArtifactStoreConfigError(
        f"[datacoves] dbt_artifact_store={setting!r} is not a store this provider knows: use 'platform' "
        "(the dbt API's internal routes on a Datacoves worker), 'api' (the public v3 routes), "
        "s3://<bucket>/<prefix>, or an absolute folder path"
    )


def _file_url_folder(setting: str, parsed: Any) -> Path:
    """The folder a ``file:`` store setting names: only ``file:///absolute/folder`` (or
    ``file:/absolute/folder``) is one; a host or a relative path would silently mean another folder.

    :param setting: the setting as written, for the message.
    :param parsed: ``urlparse(setting)``.
    """
    fix = "use file:///absolute/folder (three slashes) or the absolute folder path itself"
    if parsed.netloc:
        raise ArtifactStoreConfigError(
            f"[datacoves] dbt_artifact_store={setting!r} names the host {parsed.netloc!r}, but the folder "
            f"store only reads this worker's disk (file://host/x is not the folder /x); {fix}"
        )
    if parsed.params or parsed.query or parsed.fragment:
        raise ArtifactStoreConfigError(
            f"[datacoves] dbt_artifact_store={setting!r} has a ';', '?' or '#' part, which a folder "
            f"cannot have; {fix}"
        )
    folder = unquote(parsed.path)
    if not os.path.isabs(folder):
        raise ArtifactStoreConfigError(
            f"[datacoves] dbt_artifact_store={setting!r} is a relative folder (it would depend on the "
            f"worker's current folder); {fix}"
        )
    return Path(folder)


#: The bucket names botocore accepts (it rejects any other before sending a request).
_S3_BUCKET = re.compile(r"^[a-zA-Z0-9.\-_]{1,255}$")


def _check_connection(conn_id: str) -> None:
    """A clear error when ``[datacoves] dbt_artifact_store_conn_id`` names no Airflow connection (the
    amazon provider would only log a warning and go on with the worker's default AWS credentials,
    which is right for ``aws_default`` only).

    :param conn_id: the configured connection id.
    """
    from datacoves_airflow_provider.compat import AirflowNotFoundException, BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ArtifactStoreConfigError(
            f"[datacoves] dbt_artifact_store_conn_id={conn_id!r} names no Airflow connection: create an "
            "AWS connection with that id, or unset the setting to use 'aws_default' (or the worker's own "
            "AWS credentials)"
        ) from None
