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

**Keys.** Two kinds of artifact exist. *Shared* ones (dbt's static artifacts, such as
``partial_parse.msgpack``) belong to the environment and are stored with the tag ``latest``.
*Run-scoped* ones (``run_results.json``, ``sources.json``, additional files) belong to one task
instance: their key holds the DAG id, the run id and the task id (and the map index of a mapped
task), so concurrent DAG runs, or two dbt tasks in one run, never read each other's state.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, unquote, urlparse

from datacoves_airflow_provider.atomic_file import atomic_destination
from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.optional_import import requires_extra

if TYPE_CHECKING:
    from datacoves_airflow_provider.dbt.api_client import DbtApiClient
    from datacoves_airflow_provider.dbt.platform_api import DbtPlatformApiClient

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

#: The tag of shared artifacts, as the Datacoves docs name it.
SHARED_TAG = "latest"
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
            raise ValueError(
                f"ArtifactKey name must be a non-empty path relative to the dbt project, "
                f"e.g. 'target/manifest.json', got {name!r}"
            )
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or os.path.isabs(name) or any(p in ("", ".", "..") for p in parts):
            raise ValueError(
                f"ArtifactKey name {name!r} must stay inside the store's folder: use a relative path "
                "without a leading '/' and without '..', '.' or empty parts, e.g. 'target/manifest.json'"
            )
        if self.run is not None:
            bad = [p for p in self.run.parts() if p == ""]
            if bad:
                raise ValueError(
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
            raise ValueError(f"artifact {key.path!r} would be stored outside the folder {self.root}")
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


class S3ArtifactStore:
    """Artifacts in S3 under ``s3://bucket/prefix/<key path>``, through the amazon provider.

    Run-scoped objects carry their tag as the object metadata ``datacoves-tag`` (RFC 2047-encoded
    when it is not printable ASCII: see :func:`encode_metadata_value`).

    :param bucket: the bucket.
    :param prefix: the key prefix (may be empty).
    :param aws_conn_id: the Airflow AWS connection (``[datacoves] dbt_artifact_store_conn_id``).
    """

    def __init__(self, bucket: str, prefix: str, aws_conn_id: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.aws_conn_id = aws_conn_id
        self.description = f"s3://{bucket}/{self.prefix} (connection {aws_conn_id!r})"
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            with requires_extra("aws"):
                from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            self._client = S3Hook(aws_conn_id=self.aws_conn_id).get_conn()
        return self._client

    def _object_key(self, key: ArtifactKey) -> str:
        return f"{self.prefix}/{key.path}" if self.prefix else key.path

    def download(self, key: ArtifactKey, destination: Path) -> bool:
        """See :meth:`ArtifactStore.download`."""
        with requires_extra("aws"):
            from botocore.exceptions import ClientError

        try:
            with atomic_destination(destination) as partial:
                self._s3().download_file(self.bucket, self._object_key(key), str(partial))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def upload(self, key: ArtifactKey, source: Path) -> None:
        """See :meth:`ArtifactStore.upload`."""
        self._s3().upload_file(
            str(source),
            self.bucket,
            self._object_key(key),
            ExtraArgs={"Metadata": {TAG_METADATA: encode_metadata_value(key.tag)}},
        )

    def stored_tag(self, key: ArtifactKey) -> str | None:
        """The tag the stored object carries (decoded), or None when the store does not have it.

        :param key: the artifact.
        """
        with requires_extra("aws"):
            from botocore.exceptions import ClientError

        try:
            head = self._s3().head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        value = head.get("Metadata", {}).get(TAG_METADATA)
        return None if value is None else decode_metadata_value(value)


#: The S3 object metadata that holds a run-scoped object's tag.
TAG_METADATA = "datacoves-tag"
#: An RFC 2047 encoded word in UTF-8 and base64, as :func:`encode_metadata_value` writes it.
_ENCODED_WORD = re.compile(r"^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$", re.IGNORECASE)


def encode_metadata_value(text: str) -> str:
    """``text`` as an S3 metadata value, which must be printable ASCII (an HTTP header).

    Printable ASCII comes back unchanged; anything else (a non-ASCII ``upload_tag``, a control
    character, spaces at either end, which HTTP drops, or text that itself looks like an encoded
    word) becomes one RFC 2047 encoded word, ``=?UTF-8?B?<base64>?=``, the form S3 itself uses for
    non-ASCII metadata. :func:`decode_metadata_value` reverses it.

    :param text: the value.
    """
    if text.isascii() and text.isprintable() and text == text.strip() and not text.startswith("=?"):
        return text
    import base64

    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii") + "?="


def decode_metadata_value(value: str) -> str:
    """The text :func:`encode_metadata_value` encoded (other values come back unchanged).

    :param value: the metadata value as S3 returns it.
    """
    match = _ENCODED_WORD.match(value)
    if match is None:
        return value
    import base64
    import binascii

    try:
        return base64.b64decode(match[1], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value


class DbtApiArtifactStore:
    """Artifacts in the Datacoves dbt API.

    Shared artifacts are stored under their own name with the tag ``latest``. Run-scoped ones are
    stored as ``<dag>/<run>/<task>/<name>`` (the run id percent-encoded) with the upload tag, so
    ``GET .../files?tag=<run id>`` lists a run's uploads.

    :param client: the API client.
    """

    def __init__(self, client: DbtApiClient) -> None:
        self.client = client
        settings = client.settings
        self.description = (
            f"the dbt API at {settings.endpoint} (account {settings.account}, project {settings.project}, "
            f"environment {settings.environment})"
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


class PlatformArtifactStore:
    """Artifacts in the dbt API through the internal routes a Datacoves worker calls.

    Static (shared) artifacts follow the platform's own convention: uploaded with the tag
    ``latest-<stem>`` (e.g. ``latest-partial_parse``) and read back as the latest upload of their
    file name. Run-scoped ones are uploaded under their file name with the tag
    ``<upload_tag>-<dag>/<run>/<task>/<name>`` and read back by that tag, so two tasks of one DAG
    run (or two runs with the same ``upload_tag``) never read or replace each other's files.

    :param client: the internal API client.
    """

    def __init__(self, client: DbtPlatformApiClient) -> None:
        self.client = client
        settings = client.settings
        self.description = (
            f"the platform's dbt API at {settings.url} (internal routes, project {settings.project}, "
            f"environment {settings.environment})"
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
