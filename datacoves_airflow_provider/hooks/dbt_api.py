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

``requests`` is imported when a client is created, never at module import, so DAG files that
import the dbt operator stay cheap to parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datacoves_airflow_provider.hooks.atomic_file import atomic_destination
from datacoves_airflow_provider.hooks.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.hooks.http_session import retrying_session

if TYPE_CHECKING:
    import requests

__all__ = [
    "DbtApiClient",
    "DbtApiError",
    "tag_form",
    "tag_params",
]


#: Seconds to wait for a connection, and for each read of a response.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
#: Attempts after the first one on connection errors, 429 and 5xx responses.
RETRIES = 3
#: Responses worth another attempt (rate limited, or a server/proxy failure).
RETRY_STATUSES = (429, 500, 502, 503, 504)


class DbtApiError(RuntimeError):
    """The dbt API refused a request or could not be reached; the message says which and why."""


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


class DbtApiClient:
    """A small, typed client for the dbt API routes above.

    Every request has a timeout and is retried (with backoff, honouring ``Retry-After``) on
    connection errors, 429 and 5xx. Errors raise :class:`DbtApiError` with the route and status,
    never the token.

    :param settings: where the API is and which environment to use.
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    """

    def __init__(self, settings: DatacovesApiSettings, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = (
            session if session is not None else retrying_session(retries=RETRIES, statuses=RETRY_STATUSES)
        )
        self._session.headers["Authorization"] = f"Bearer {settings.token}"
        self.base_url = settings.base_url
        self._scopes = {"project": settings.project_url, "environment": settings.environment_url}

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
        with source.open("rb") as handle:
            response = self._request(
                "POST",
                self._files(scope),
                data=form,
                files={"file": (os.path.basename(filename), handle, "application/octet-stream")},
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
        response = self._request(
            "GET",
            f"{self._file(scope, filename)}/download",
            params=tag_params(tag),
            missing_ok=True,
            stream=True,
        )
        if response is None:
            return False
        with response, atomic_destination(destination) as partial, partial.open("wb") as handle:
            for chunk in response.iter_content(chunk_size=1 << 20):
                handle.write(chunk)
        return True

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
            raise ValueError(f"a dbt API file name must be a relative name, got {filename!r}")
        return f"{self._files(scope)}/{_seg(filename)}"

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        assert response is not None
        return self._decode(method, url, response)

    def _decode(self, method: str, url: str, response: requests.Response) -> Any:
        """The reply's JSON document; a :class:`DbtApiError` naming the route when it is not JSON
        (e.g. a proxy's HTML page answered instead of the API)."""
        try:
            return response.json()
        except ValueError:  # requests' JSONDecodeError is a ValueError on every version
            route = url[len(self.base_url) :] or "/"
            kind = response.headers.get("Content-Type") or "no Content-Type"
            raise DbtApiError(
                f"dbt API {method} {route} at {self.settings.endpoint} answered {response.status_code} "
                f"{response.reason} with a reply that is not JSON ({kind}): {_short(response.text, 120)!r}; "
                "check that DATACOVES__API_ENDPOINT points at the Datacoves API, not at a proxy or web page"
            ) from None

    def _request(
        self, method: str, url: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> requests.Response | None:
        import requests

        route = url[len(self.base_url) :] or "/"
        try:
            response = self._session.request(method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
        except requests.RequestException as exc:
            raise DbtApiError(
                f"dbt API {method} {route} at {self.settings.endpoint} failed after {RETRIES + 1} attempts: "
                f"{type(exc).__name__}: {_short(exc)}"
            ) from None
        if response.status_code == 404 and missing_ok:
            response.close()
            return None
        if response.status_code >= 400:
            detail = _short(response.text)
            response.close()
            hint = {
                401: " (DATACOVES__API_TOKEN was rejected)",
                403: " (the token may not access this account/project/environment)",
            }.get(response.status_code, "")
            raise DbtApiError(
                f"dbt API {method} {route} answered {response.status_code} {response.reason}{hint}: {detail}"
            )
        return response


def _seg(value: str) -> str:
    return quote(value, safe="")


def _scope(scope: str) -> str:
    if scope not in ("environment", "project"):
        raise ValueError(f"scope must be 'environment' or 'project', got {scope!r}")
    return scope


def _short(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
