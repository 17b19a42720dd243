"""A client for the Datacoves dbt API, the service that keeps dbt artifacts per environment.

Routes (all under ``{DATACOVES__API_ENDPOINT}/api/v3``, header ``Authorization: Bearer <token>``)::

    GET    healthcheck
    GET    accounts/{a}/projects/{p}/environments/{e}/files                list (``?tag=`` filters)
    POST   accounts/{a}/projects/{p}/environments/{e}/files                upload (multipart)
    GET    accounts/{a}/projects/{p}/environments/{e}/files/{filename}     metadata
    DELETE accounts/{a}/projects/{p}/environments/{e}/files/{filename}
    GET    accounts/{a}/projects/{p}/environments/{e}/files/{filename}/download
    POST   accounts/{a}/projects/{p}/environments/{e}/files/{filename}/promote   (to project level)
    GET    accounts/{a}/projects/{p}/environments/{e}/manifest?trim=
    ...and the same ``files`` and ``manifest`` routes at project level (without ``environments/{e}``).

**Tags.** A file name can be uploaded many times with different tags; each (file name, tag) pair
is one stored version, and a later upload with the same pair replaces it. Uploads send the tag as
the multipart form field ``tag``; reads and deletes select a version with the query parameter
``tag`` and, without it, get the most recent upload of that name. That convention lives only in
:func:`tag_params` and :func:`tag_form` below.

**File names** may contain ``/`` (run-scoped artifacts are named ``dag/run/task/file``); each name is
sent as a single percent-encoded path segment.

The calls themselves (timeouts, retries, bounds, errors) are the transport's
(:mod:`~datacoves_airflow_provider.dbt.api_transport`). ``requests`` is imported when a client is
created, never at module import, so DAG files that import the dbt operator stay cheap to parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

# the limits and the transport live in api_transport; they stay importable from here (and from the
# documented alias hooks.dbt_api), where earlier releases defined them
from datacoves_airflow_provider.dbt.api_transport import (  # noqa: F401
    CONNECT_TIMEOUT,
    MAX_JSON_BYTES,
    READ_TIMEOUT,
    RETRIES,
    RETRY_STATUSES,
    TRANSFER_BUDGET,
    DbtApiError,
    DbtApiSettingsClient,
    DbtApiTransport,
)
from datacoves_airflow_provider.exceptions import InvalidArgumentError
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.http.session import MultipartFileBody

__all__ = [
    "DbtApiClient",
    "DbtApiError",
    "DbtApiTransport",
    "tag_form",
    "tag_params",
]


def tag_params(tag: str | None) -> dict[str, str]:
    """Query parameters that select a tagged version on reads and deletes.

    :param tag: the tag, or None for the most recent upload.
    """
    return {"tag": tag} if tag else {}


def tag_form(tag: str | None) -> dict[str, str]:
    """Form fields that tag an upload.

    :param tag: the tag, or None for an untagged upload.
    """
    return {"tag": tag} if tag else {}


class DbtApiClient(DbtApiSettingsClient[DatacovesApiSettings]):
    """A small, typed client for the dbt API routes above.

    Every request has a timeout and is retried (with backoff, honouring ``Retry-After`` when it
    fits) on connection errors, 429 and 5xx, within a total deadline: ``timeout * (retries + 1)``
    seconds for a JSON call, :data:`TRANSFER_BUDGET` for an upload or a download. JSON replies
    larger than :data:`MAX_JSON_BYTES` are refused. Errors raise :class:`DbtApiError` with the route
    and status, never the token.

    :param settings: where the API is and which environment to use.
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 5 s of it).
    :param retries: further attempts after the first.
    """

    def _where(self, settings: DatacovesApiSettings) -> dict[str, str]:
        return {"endpoint": settings.endpoint}

    @property
    def _scopes(self) -> dict[str, str]:
        return {"project": self.settings.project_url, "environment": self.settings.environment_url}

    # -- routes --------------------------------------------------------------------------------

    def healthcheck(self) -> dict[str, Any]:
        """``GET healthcheck``: the API's own status document."""
        return self._json("GET", f"{self.base_url}/healthcheck")

    def list_files(self, *, tag: str | None = None, scope: str = "environment") -> list[dict[str, Any]]:
        """``GET .../files``: the stored files' metadata, optionally only those with ``tag``.

        :param tag: only files with this tag.
        :param scope: ``environment`` (default) or ``project``.
        """
        data = self._json("GET", self._files(scope), params=tag_params(tag))
        return list(data.get("files", data) if isinstance(data, dict) else data)

    def file_info(
        self, filename: str, *, tag: str | None = None, scope: str = "environment"
    ) -> dict[str, Any] | None:
        """``GET .../files/{filename}``: one file's metadata, or None when there is no such file.

        :param filename: the stored name.
        :param tag: the tagged version (default: the most recent).
        :param scope: ``environment`` or ``project``.
        """
        url = self._file(scope, filename)
        response = self._request("GET", url, params=tag_params(tag), missing_ok=True)
        return None if response is None else self._decode("GET", url, response)

    def upload(
        self,
        filename: str,
        source: Path,
        *,
        tag: str | None = None,
        is_manifest: bool = False,
        scope: str = "environment",
    ) -> dict[str, Any]:
        """``POST .../files``: store ``source`` under ``filename`` (replacing the same name and tag).

        :param filename: the name to store it as.
        :param source: the local file.
        :param tag: the tag to store it with.
        :param is_manifest: whether it is a dbt manifest (the API indexes manifests).
        :param scope: ``environment`` or ``project``.
        """
        form = {"filename": filename, "is_manifest": "true" if is_manifest else "false", **tag_form(tag)}
        # streamed from disk (requests' files= would build the whole body in memory)
        body = MultipartFileBody(form, file_field="file", filename=os.path.basename(filename), path=source)
        response = self._request(
            "POST",
            self._files(scope),
            budget=self._transfer_budget(),
            data=body,
            headers={"Content-Type": body.content_type},
        )
        assert response is not None
        return self._decode("POST", self._files(scope), response) if response.content else {}

    def download(
        self, filename: str, destination: Path, *, tag: str | None = None, scope: str = "environment"
    ) -> bool:
        """``GET .../files/{filename}/download`` into ``destination``; False when there is no such file.

        The file is written next to ``destination`` and renamed into place, so a broken transfer
        never leaves a partial file where dbt would read it.

        :param filename: the stored name.
        :param destination: the local path to write.
        :param tag: the tagged version (default: the most recent).
        :param scope: ``environment`` or ``project``.
        """
        url = f"{self._file(scope, filename)}/download"
        return self._stream_to(url, destination, params=tag_params(tag))

    def delete(self, filename: str, *, tag: str | None = None, scope: str = "environment") -> bool:
        """``DELETE .../files/{filename}``; False when there was no such file.

        :param filename: the stored name.
        :param tag: the tagged version (default: every version of that name).
        :param scope: ``environment`` or ``project``.
        """
        return (
            self._request("DELETE", self._file(scope, filename), params=tag_params(tag), missing_ok=True)
            is not None
        )

    def promote(self, filename: str, *, tag: str | None = None) -> dict[str, Any]:
        """``POST .../environments/{e}/files/{filename}/promote``: copy an environment file to the project.

        :param filename: the stored name.
        :param tag: the tagged version (default: the most recent).
        """
        return self._json("POST", f"{self._file('environment', filename)}/promote", params=tag_params(tag))

    def manifest(self, *, trim: bool = False, scope: str = "environment") -> dict[str, Any]:
        """``GET .../manifest``: the most recent file uploaded with ``is_manifest``.

        :param trim: ask the API for the trimmed manifest.
        :param scope: ``environment`` or ``project``.
        """
        return self._json(
            "GET", f"{self._scopes[_scope(scope)]}/manifest", params={"trim": str(trim).lower()}
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _files(self, scope: str) -> str:
        return f"{self._scopes[_scope(scope)]}/files"

    def _file(self, scope: str, filename: str) -> str:
        if not filename or filename.startswith("/"):
            raise InvalidArgumentError(f"a dbt API file name must be a relative name, got {filename!r}")
        return f"{self._files(scope)}/{_seg(filename)}"


def _seg(value: str) -> str:
    return quote(value, safe="")


def _scope(scope: str) -> str:
    if scope not in ("environment", "project"):
        raise InvalidArgumentError(f"scope must be 'environment' or 'project', got {scope!r}")
    return scope
