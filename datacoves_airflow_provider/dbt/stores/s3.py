"""The S3 store: a bucket and prefix, through the amazon provider's ``S3Hook`` (imported when the
store first connects, never at module import)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.atomic_file import atomic_destination
from datacoves_airflow_provider.dbt.stores.base import ArtifactKey
from datacoves_airflow_provider.optional_import import requires_extra

__all__ = ["TAG_METADATA", "S3ArtifactStore", "decode_metadata_value", "encode_metadata_value"]

#: The S3 object metadata that holds a run-scoped object's tag.
TAG_METADATA = "datacoves-tag"
#: An RFC 2047 encoded word in UTF-8 and base64, as :func:`encode_metadata_value` writes it.
_ENCODED_WORD = re.compile(r"^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$", re.IGNORECASE)


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
