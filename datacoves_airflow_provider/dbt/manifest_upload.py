"""Uploading a dbt run's ``manifest.json`` to Datacoves, as the platform expects after dbt commands.

With ``DATACOVES__UPLOAD_MANIFEST`` truthy (``true``, ``1`` or ``yes``, any case) the dbt operator
sends ``target/manifest.json`` after a dbt command that wrote it::

    POST $DATACOVES__UPLOAD_MANIFEST_URL
    Authorization: Bearer $DATACOVES__UPLOAD_MANIFEST_TOKEN
    multipart: file=<manifest.json>, environment_slug, run_id (the DAG run id), dag_id

The upload is streamed from disk and bounded like every other call (see
:mod:`~datacoves_airflow_provider.http.session`). It never decides a task's outcome: any
failure, including a missing URL or token, is one WARNING line (the token is masked and never
quoted).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_CONNECT_TIMEOUT",
    "MANIFEST_RETRIES",
    "MANIFEST_UPLOAD_BUDGET",
    "upload_manifest",
    "upload_manifest_enabled",
]

#: Seconds to connect and per read; further attempts on connection errors, 429 and 5xx; and the
#: whole upload's deadline (a manifest can be large).
MANIFEST_CONNECT_TIMEOUT = 5.0
MANIFEST_READ_TIMEOUT = 60.0
MANIFEST_RETRIES = 2
MANIFEST_UPLOAD_BUDGET = 600.0


def upload_manifest_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``DATACOVES__UPLOAD_MANIFEST`` asks for manifest uploads.

    :param environ: the variables to read (default: ``os.environ``).
    """
    from datacoves_airflow_provider.dbt.platform_api import is_truthy

    env = os.environ if environ is None else environ
    return is_truthy(env.get("DATACOVES__UPLOAD_MANIFEST"))


def upload_manifest(
    manifest: Path,
    *,
    run_id: str,
    dag_id: str,
    log: Any,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Upload ``manifest`` as PLATFORM.md §4 describes; True when the server accepted it.

    Never raises: a failure is logged as a warning and returns False.

    :param manifest: the manifest.json dbt wrote.
    :param run_id: the DAG run id (form field ``run_id``).
    :param dag_id: the DAG id (form field ``dag_id``).
    :param log: the task's logger.
    :param environ: the variables to read (default: ``os.environ``).
    """
    from datacoves_airflow_provider.compat import mask_secret, redact

    env = os.environ if environ is None else environ
    url = env.get("DATACOVES__UPLOAD_MANIFEST_URL", "").strip()
    token = env.get("DATACOVES__UPLOAD_MANIFEST_TOKEN", "").strip()
    if token:
        mask_secret(token)
    missing = [
        name
        for name, value in (
            ("DATACOVES__UPLOAD_MANIFEST_URL", url),
            ("DATACOVES__UPLOAD_MANIFEST_TOKEN", token),
        )
        if not value
    ]
    if missing:
        log.warning(
            "Manifest upload skipped: DATACOVES__UPLOAD_MANIFEST is on but %s %s not set; set %s, or "
            "DATACOVES__UPLOAD_MANIFEST=false (the task's outcome is dbt's alone)",
            " and ".join(missing),
            "is" if len(missing) == 1 else "are",
            ", ".join(missing),
        )
        return False
    try:
        status = _post(manifest, url=url, token=token, run_id=run_id, dag_id=dag_id, env=env)
    except Exception as exc:
        message = str(redact(f"{type(exc).__name__}: {exc}")).replace(token, "***")
        log.warning(
            "Manifest upload to %s failed, the task's outcome is dbt's alone: %s", _safe(url), message
        )
        return False
    if status >= 400:
        log.warning(
            "Manifest upload to %s answered %d, the task's outcome is dbt's alone", _safe(url), status
        )
        return False
    log.info("Uploaded %s to %s (status %d)", manifest.name, _safe(url), status)
    return True


def _post(manifest: Path, *, url: str, token: str, run_id: str, dag_id: str, env: Mapping[str, str]) -> int:
    """Send the upload; the reply's status.

    :param manifest: the file.
    :param url: where to.
    :param token: the bearer token.
    :param run_id: the DAG run id.
    :param dag_id: the DAG id.
    :param env: the variables (for the environment slug).
    """
    from datacoves_airflow_provider.http.datacoves_api import _check_endpoint
    from datacoves_airflow_provider.http.session import (
        MultipartFileBody,
        bounded_request,
        retrying_session,
    )

    _check_endpoint(url, "DATACOVES__UPLOAD_MANIFEST_URL")
    fields = {
        "environment_slug": env.get("DATACOVES__ENVIRONMENT_SLUG", "").strip(),
        "run_id": run_id,
        "dag_id": dag_id,
    }
    body = MultipartFileBody(
        fields, file_field="file", filename=manifest.name, path=manifest, content_type="application/json"
    )
    session = retrying_session(retries=MANIFEST_RETRIES)
    with session:
        response = bounded_request(
            session,
            "POST",
            url,
            service=f"manifest upload POST {_safe(url)}",
            timeout=(MANIFEST_CONNECT_TIMEOUT, MANIFEST_READ_TIMEOUT),
            budget=MANIFEST_UPLOAD_BUDGET,
            data=body,
            headers={"Content-Type": body.content_type, "Authorization": f"Bearer {token}"},
        )
    return response.status_code


def _safe(url: str) -> str:
    """``url`` without a query or user info, for log lines.

    :param url: the configured URL.
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "DATACOVES__UPLOAD_MANIFEST_URL"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url
