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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datacoves_airflow_provider.atomic_file import atomic_destination
from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.http.session import (
    MAX_REPLY_BYTES,
    BoundedResponse,
    HttpLimitError,
    MultipartFileBody,
    bounded_request,
    bounded_stream,
    call_budget,
    check_timeout_and_retries,
    retrying_session,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "DbtApiClient",
    "DbtApiError",
    "DbtApiTransport",
    "tag_form",
    "tag_params",
]


#: Seconds to wait for a connection, and for each read of a response.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
#: Attempts after the first one on connection errors, 429 and 5xx responses.
RETRIES = 3
#: A JSON call ends within READ_TIMEOUT x (RETRIES + 1) seconds in all; an artifact upload or
#: download (which may be large) within this many seconds.
TRANSFER_BUDGET = 3600.0
#: The largest JSON reply read (a manifest can be large; artifacts download to disk uncapped).
MAX_JSON_BYTES = 20 * MAX_REPLY_BYTES
#: Responses worth another attempt (rate limited, or a server/proxy failure).
RETRY_STATUSES = (429, 500, 502, 503, 504)


class DbtApiError(DatacovesError, RuntimeError):
    """The dbt API refused a request or could not be reached; the message says which and why."""


class _NoSuchFile(DatacovesError):
    """Raised inside a download when the reply says the file does not exist."""


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


class DbtApiTransport:
    """How every dbt API client talks: bounded, retried calls to one base URL with a bearer token.

    Shared by :class:`DbtApiClient` (the public v3 routes) and
    :class:`~datacoves_airflow_provider.dbt.platform_api.DbtPlatformApiClient` (the
    platform's internal routes). Every request has a timeout and is retried (with backoff,
    honouring ``Retry-After`` when it fits) on connection errors, 429 and 5xx, within a total
    deadline; JSON replies larger than :data:`MAX_JSON_BYTES` are refused; downloads stream to
    disk; errors raise :class:`DbtApiError` with the route and status, never the token.

    :param endpoint: the API's address as configured, for messages.
    :param base_url: the prefix of every route (messages name routes relative to it).
    :param token: the bearer token.
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 5 s of it).
    :param retries: further attempts after the first.
    :param url_source: the variable the address came from, named in error hints.
    :param token_source: where the token came from, named when it is rejected.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        base_url: str,
        token: str,
        session: requests.Session | None = None,
        timeout: float = READ_TIMEOUT,
        retries: int = RETRIES,
        url_source: str = "DATACOVES__API_ENDPOINT",
        token_source: str = "DATACOVES__API_TOKEN",
    ) -> None:
        check_timeout_and_retries(timeout, retries)
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.url_source = url_source
        self.token_source = token_source
        self._session = (
            session if session is not None else retrying_session(retries=retries, statuses=RETRY_STATUSES)
        )
        self._session.headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url

    def _stream_to(
        self,
        url: str,
        destination: Path,
        *,
        params: dict[str, str] | None = None,
        finish: Callable[[Path, requests.Response], bool] | None = None,
    ) -> bool:
        """``GET url`` streamed into ``destination`` (atomically); False on 404.

        :param url: the route.
        :param destination: the local path to write.
        :param params: query parameters.
        :param finish: called with the written partial file and the response before it is renamed
            into place; returning False means "no such file" (nothing is written).
        """
        import requests

        service = self._service("GET", url)
        try:
            with bounded_stream(
                self._session,
                "GET",
                url,
                service=service,
                timeout=self._timeouts(),
                budget=self._transfer_budget(),
                params=params or {},
            ) as response:
                if response.status_code == 404:
                    return False
                if response.status_code >= 400:
                    text = _error_text(response)
                    self._raise_for_status("GET", url, response.status_code, response.reason, text)
                try:
                    with atomic_destination(destination) as partial:
                        with partial.open("wb") as handle:
                            for chunk in response.iter_content(chunk_size=1 << 20):
                                handle.write(chunk)
                        if finish is not None and not finish(partial, response):
                            raise _NoSuchFile
                except _NoSuchFile:
                    return False
        except HttpLimitError as exc:
            raise DbtApiError(str(exc)) from None
        except requests.RequestException as exc:
            raise self._failed("GET", url, exc) from None
        return True

    # -- plumbing ------------------------------------------------------------------------------

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        assert response is not None
        return self._decode(method, url, response)

    def _decode(self, method: str, url: str, response: BoundedResponse) -> Any:
        """The reply's JSON document; a :class:`DbtApiError` naming the route when it is not JSON
        (e.g. a proxy's HTML page answered instead of the API)."""
        try:
            return response.json()
        except RecursionError:
            raise DbtApiError(
                f"{self._service(method, url)} answered a JSON document nested too deeply to read "
                "(more levels than Python's JSON parser takes)"
            ) from None
        except ValueError:
            kind = response.headers.get("Content-Type") or "no Content-Type"
            raise DbtApiError(
                f"{self._service(method, url)} answered {response.status_code} "
                f"{response.reason} with a reply that is not JSON ({kind}): {_short(response.text, 120)!r}; "
                f"check that {self.url_source} points at the Datacoves API, not at a proxy or web page"
            ) from None

    def _request(
        self, method: str, url: str, *, missing_ok: bool = False, budget: float | None = None, **kwargs: Any
    ) -> BoundedResponse | None:
        import requests

        try:
            response = bounded_request(
                self._session,
                method,
                url,
                service=self._service(method, url),
                timeout=self._timeouts(),
                budget=budget or self._budget(),
                max_bytes=MAX_JSON_BYTES,
                **kwargs,
            )
        except HttpLimitError as exc:
            raise DbtApiError(str(exc)) from None
        except requests.RequestException as exc:
            raise self._failed(method, url, exc) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            self._raise_for_status(method, url, response.status_code, response.reason, response.text)
        return response

    def _service(self, method: str, url: str) -> str:
        return f"dbt API {method} {url[len(self.base_url) :] or '/'} at {self.endpoint}"

    def _timeouts(self) -> tuple[float, float]:
        return (min(CONNECT_TIMEOUT, self.timeout), self.timeout)

    def _budget(self) -> float:
        return call_budget(self.timeout, self.retries)

    def _transfer_budget(self) -> float:  # an upload or a download, which may be large
        return max(TRANSFER_BUDGET, self._budget())

    def _failed(self, method: str, url: str, exc: Exception) -> DbtApiError:
        return DbtApiError(
            f"{self._service(method, url)} failed after {self.retries + 1} attempts: "
            f"{type(exc).__name__}: {_short(exc)}"
        )

    def _raise_for_status(self, method: str, url: str, status: int, reason: str | None, text: str) -> None:
        route = url[len(self.base_url) :] or "/"
        hint = {
            401: f" ({self.token_source} was rejected)",
            403: " (the token may not access this account/project/environment)",
        }.get(status, "")
        raise DbtApiError(f"dbt API {method} {route} answered {status} {reason}{hint}: {_short(text)}")


class DbtApiClient(DbtApiTransport):
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

    def __init__(
        self,
        settings: DatacovesApiSettings,
        *,
        session: requests.Session | None = None,
        timeout: float = READ_TIMEOUT,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(
            endpoint=settings.endpoint,
            base_url=settings.base_url,
            token=settings.token,
            session=session,
            timeout=timeout,
            retries=retries,
        )
        self.settings = settings
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
            raise ValueError(f"a dbt API file name must be a relative name, got {filename!r}")
        return f"{self._files(scope)}/{_seg(filename)}"


def _error_text(response: requests.Response) -> str:
    """The start of an error reply: what a message needs, never more."""
    from datacoves_airflow_provider.http.session import ERROR_BODY_BYTES, decode_body

    head = next(response.iter_content(chunk_size=ERROR_BODY_BYTES), b"")[:ERROR_BODY_BYTES]
    return decode_body(head, response.encoding)


def _seg(value: str) -> str:
    return quote(value, safe="")


def _scope(scope: str) -> str:
    if scope not in ("environment", "project"):
        raise ValueError(f"scope must be 'environment' or 'project', got {scope!r}")
    return scope


def _short(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
