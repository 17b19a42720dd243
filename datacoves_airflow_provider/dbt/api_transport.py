"""How every dbt API client talks: bounded, retried calls to one base URL with a bearer token.

:class:`DbtApiTransport` carries the calls and their errors; :class:`DbtApiSettingsClient` builds one
from a settings object, and is the base of both clients:
:class:`~datacoves_airflow_provider.dbt.api_client.DbtApiClient` (the public v3 routes) and
:class:`~datacoves_airflow_provider.dbt.platform_api.DbtPlatformApiClient` (the platform's internal
routes). ``requests`` is imported when a client is created, never at module import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from datacoves_airflow_provider.atomic_file import atomic_destination
from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.http.authorized_client import AuthorizedClient
from datacoves_airflow_provider.http.session import (
    MAX_REPLY_BYTES,
    BoundedResponse,
    HttpLimitError,
    bounded_request,
    bounded_stream,
    call_budget,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_JSON_BYTES",
    "READ_TIMEOUT",
    "RETRIES",
    "RETRY_STATUSES",
    "TRANSFER_BUDGET",
    "DbtApiError",
    "DbtApiSettingsClient",
    "DbtApiTransport",
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


class DbtApiTransport(AuthorizedClient):
    """How every dbt API client talks: bounded, retried calls to one base URL with a bearer token.

    Shared by :class:`~datacoves_airflow_provider.dbt.api_client.DbtApiClient` (the public v3 routes) and
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
        super().__init__(
            f"Bearer {token}", session=session, timeout=timeout, retries=retries, statuses=RETRY_STATUSES
        )
        self.endpoint = endpoint
        self.url_source = url_source
        self.token_source = token_source
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


class _Settings(Protocol):
    """What a client's settings give the transport."""

    @property
    def base_url(self) -> str: ...

    @property
    def token(self) -> str: ...


SettingsT = TypeVar("SettingsT", bound=_Settings)


class DbtApiSettingsClient(DbtApiTransport, Generic[SettingsT]):
    """A dbt API client built from its settings (the constructor both clients share).

    :param settings: where the API is, its token, and what to work on.
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 5 s of it).
    :param retries: further attempts after the first.
    """

    def __init__(
        self,
        settings: SettingsT,
        *,
        session: requests.Session | None = None,
        timeout: float = READ_TIMEOUT,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(
            base_url=settings.base_url,
            token=settings.token,
            session=session,
            timeout=timeout,
            retries=retries,
            **self._where(settings),
        )
        self.settings = settings

    def _where(self, settings: SettingsT) -> dict[str, str]:
        """The transport's ``endpoint`` (and ``url_source``, ``token_source`` where they are not the
        defaults) for these settings.

        :param settings: the client's settings.
        """
        raise NotImplementedError


def _error_text(response: requests.Response) -> str:
    """The start of an error reply: what a message needs, never more."""
    from datacoves_airflow_provider.http.session import ERROR_BODY_BYTES, decode_body

    head = next(response.iter_content(chunk_size=ERROR_BODY_BYTES), b"")[:ERROR_BODY_BYTES]
    return decode_body(head, response.encoding)


def _short(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
