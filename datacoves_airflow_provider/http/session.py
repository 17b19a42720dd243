"""One place for how our HTTP clients talk: bounded retries with backoff, and bounded calls.

Every client (the secrets API, the dbt API, Teams and Slack webhooks) sends through
:func:`retrying_session` and :func:`bounded_request` / :func:`bounded_stream`, which give each call:

- **a total deadline** (its *budget*): connecting, every attempt, the waits between attempts and
  reading the reply all end within it. A watchdog shuts the call's sockets down at the deadline, so
  a server that trickles a byte every few seconds (which never trips a per-read timeout) cannot hold
  the call longer, and no attempt starts after it;
- **a capped ``Retry-After``**: a wait that would not fit in what is left of the budget is not
  waited for; the call ends at once with an error saying what the server asked for (urllib3 alone
  would sleep up to six hours);
- **a capped reply**: a JSON reply larger than ``max_bytes`` is refused while it streams in (it is
  never held whole in memory), and of an error reply only what a message needs is read.

``requests`` and ``urllib3`` are imported when a session is made or a call sent, never at module
import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import DatacovesError

if TYPE_CHECKING:
    import requests

__all__ = [
    "ERROR_BODY_BYTES",
    "MAX_REPLY_BYTES",
    "WEBHOOK_REPLY_BYTES",
    "BoundedResponse",
    "HttpLimitError",
    "MultipartFileBody",
    "bounded_request",
    "bounded_stream",
    "call_budget",
    "check_timeout_and_retries",
    "decode_body",
    "post_webhook",
    "redact_urllib3_log_arguments",
    "retrying_session",
]

#: The largest JSON reply a client reads (artifact downloads stream to disk and are not capped).
MAX_REPLY_BYTES = 10 * 1024 * 1024
#: The largest reply read from a webhook (Teams and Slack answer a few bytes).
WEBHOOK_REPLY_BYTES = 1024 * 1024
#: How much of an error reply is read: what an error message quotes.
ERROR_BODY_BYTES = 4096
#: How often the watchdog looks again, once the deadline has passed, for a socket opened late.
_WATCHDOG_RECHECK = 0.2


class HttpLimitError(DatacovesError):
    """A call reached one of its limits: its total deadline, a ``Retry-After`` longer than what is
    left of it, or a reply larger than the client reads. The message names the service and the
    limit; clients re-raise it as their own error."""


def call_budget(timeout: float, retries: int) -> float:
    """The total deadline of a call, in seconds: ``timeout`` for each of its ``retries + 1``
    attempts (the waits between attempts come out of the same budget).

    :param timeout: seconds per attempt.
    :param retries: further attempts after the first.
    """
    return float(timeout) * (retries + 1)


# -- the call in progress (per thread) ---------------------------------------------------------------


@dataclass
class _Call:
    """The deadline of the call this thread is making, and what the watchdog may cut."""

    deadline: float
    connections: list[Any] = field(default_factory=list)
    cut: bool = False
    retry_after: str | None = None  # a Retry-After header whose wait did not fit in the budget

    def left(self) -> float:
        return self.deadline - time.monotonic()


_CURRENT = threading.local()


def _current() -> _Call | None:
    return getattr(_CURRENT, "call", None)


def _cut(call: _Call) -> None:
    """Shut down the sockets of the call's connections: a blocked read returns at once."""
    call.cut = True
    for connection in list(call.connections):
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS


@contextlib.contextmanager
def _deadline(budget: float) -> Iterator[_Call]:
    """Run the block as one call that ends within ``budget`` seconds (see the module docstring)."""
    call = _Call(deadline=time.monotonic() + budget)
    previous = _current()
    _CURRENT.call = call
    done = threading.Event()

    def watchdog() -> None:
        if done.wait(max(call.left(), 0)):
            return
        while True:  # cut, and keep cutting what a late connect may still open, until the call ends
            _cut(call)
            if done.wait(_WATCHDOG_RECHECK):
                return

    thread = threading.Thread(target=watchdog, name="http-call-deadline", daemon=True)
    thread.start()
    try:
        yield call
    finally:
        done.set()
        _CURRENT.call = previous


@cache
def _adapter_class() -> type:
    """``HTTPAdapter`` whose connection pools report each connection to the call in progress, so
    that its watchdog can cut it."""
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type) -> type:
        class WatchedPool(base):  # type: ignore[misc,valid-type]
            def _get_conn(self, timeout: float | None = None) -> Any:
                connection = super()._get_conn(timeout)
                call = _current()
                if call is not None:
                    call.connections.append(connection)
                return connection

        WatchedPool.__name__ = f"Watched{base.__name__}"
        return WatchedPool

    pools = {"http": watched(HTTPConnectionPool), "https": watched(HTTPSConnectionPool)}

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return BoundedAdapter


@cache
def _retry_class() -> type:
    """urllib3's ``Retry``, bounded by the deadline of the call in progress: no attempt after it,
    no backoff beyond it, and no ``Retry-After`` wait that does not fit in what is left of it."""
    from urllib3.exceptions import MaxRetryError, ResponseError
    from urllib3.util.retry import Retry

    class BoundedRetry(Retry):
        def increment(
            self,
            method: str | None = None,
            url: str | None = None,
            response: Any = None,
            error: Exception | None = None,
            _pool: Any = None,
            _stacktrace: Any = None,
        ) -> Any:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)  # raises when spent
            call = _current()
            if call is None:
                return retry
            wait = None
            if response is not None and self.respect_retry_after_header:
                with contextlib.suppress(Exception):  # a malformed header: urllib3 decides
                    wait = self.get_retry_after(response)
            left = call.left()
            if response is not None and wait is not None and wait >= left:
                call.retry_after = str(response.headers.get("Retry-After")).strip()
            if call.cut or left <= 0 or call.retry_after is not None:
                reason = error or ResponseError("no time left in this call's budget for another attempt")
                raise MaxRetryError(_pool, url or "", reason)
            return retry

        def get_backoff_time(self) -> float:
            call = _current()
            backoff = super().get_backoff_time()
            return backoff if call is None else max(0.0, min(backoff, call.left()))

    return BoundedRetry


def retrying_session(
    *, retries: int, statuses: Collection[int] = (429, 500, 502, 503, 504), backoff_factor: float = 0.5
) -> requests.Session:
    """A session that retries connection errors and ``statuses`` ``retries`` times, with
    exponential backoff (``backoff_factor * 2**n`` seconds) and ``Retry-After`` honoured, both
    within the budget of a :func:`bounded_request` call.

    Every method is retried: our clients only send idempotent requests (an upload with the same
    name and tag replaces itself).

    :param retries: attempts after the first.
    :param statuses: response codes worth another attempt.
    :param backoff_factor: the backoff's base, in seconds.
    """
    import requests

    retry = _retry_class()(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=tuple(statuses),
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    redact_urllib3_log_arguments()
    session = requests.Session()
    adapter = _adapter_class()(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- streamed uploads -------------------------------------------------------------------------------


class MultipartFileBody:
    """A ``multipart/form-data`` body that streams one file from disk, for ``requests``' ``data=``.

    ``requests`` builds a ``files=`` body whole in memory (a 50 MB manifest held twice); this one
    is read from disk in 1 MiB chunks as it is sent, with its length known up front (so the
    request has a ``Content-Length``), and it can be iterated again from the start, so a retried
    request sends the whole file again.

    :param fields: the form's text fields, in order.
    :param file_field: the file part's field name.
    :param filename: the file name the part declares.
    :param path: the local file to send.
    :param content_type: the file part's content type.
    """

    chunk_size = 1024 * 1024

    def __init__(
        self,
        fields: Mapping[str, str],
        *,
        file_field: str,
        filename: str,
        path: Path,
        content_type: str = "application/octet-stream",
    ) -> None:
        from urllib3.fields import format_multipart_header_param as param

        self.boundary = uuid.uuid4().hex
        dash = f"--{self.boundary}\r\n"
        head = b"".join(
            f"{dash}Content-Disposition: form-data; {param('name', name)}\r\n\r\n".encode()
            + value.encode("utf-8")
            + b"\r\n"
            for name, value in fields.items()
        )
        disposition = f"form-data; {param('name', file_field)}; {param('filename', filename)}"
        head += f"{dash}Content-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._path = path
        self._size = path.stat().st_size

    @property
    def content_type(self) -> str:
        """The request's ``Content-Type`` header, with the boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        with self._path.open("rb") as handle:
            while sent < self._size and (chunk := handle.read(min(self.chunk_size, self._size - sent))):
                sent += len(chunk)
                yield chunk
        if sent != self._size:
            raise OSError(f"{self._path} changed size while it was being uploaded")
        yield self._tail


# -- bounded calls -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundedResponse:
    """A reply read within its limits: the status, the headers and the body (all of a success's,
    the first :data:`ERROR_BODY_BYTES` of an error's).

    :param status_code: the HTTP status.
    :param reason: the status's reason phrase.
    :param headers: the reply's headers.
    :param content: the body read.
    :param encoding: the charset the reply declared, if any.
    """

    status_code: int
    reason: str
    headers: Any = field(repr=False)
    content: bytes = field(repr=False)
    encoding: str | None = None

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        return decode_body(self.content, self.encoding)

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not; ``RecursionError`` when it
        nests deeper than Python's parser goes)."""
        return json.loads(self.content)


def decode_body(content: bytes, encoding: str | None) -> str:
    """A reply body as text, in the charset it declared (else UTF-8), undecodable bytes replaced.

    :param content: the body, or the part of it read.
    :param encoding: the declared charset, if any.
    """
    try:
        return content.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


def _raise_if_over_budget(service: str, budget: float, call: _Call) -> None:
    """Raise the :class:`HttpLimitError` of a call that ran out of time (in place of whatever
    error the cut caused); return when it did not."""
    if call.retry_after is not None:
        raise HttpLimitError(
            f"{service} asked to be retried later (Retry-After: {call.retry_after[:40]}), beyond the "
            f"{max(call.left(), 0):.0f} s left of this call's {budget:g} s budget; it was not retried: "
            "try again later, or raise the client's timeout"
        ) from None
    if call.cut or call.left() <= 0:
        raise HttpLimitError(
            f"{service} did not answer within this call's {budget:g} s budget (connecting, every "
            "attempt and the waits between them): the server is too slow or trickles its reply"
        ) from None


def _too_large(service: str, max_bytes: int) -> HttpLimitError:
    return HttpLimitError(
        f"{service} answered with a reply larger than {_size(max_bytes)}, the most this provider reads "
        "from it; the reply was refused (check that the endpoint is the Datacoves API or the webhook "
        "it should be, not a page or a file)"
    )


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count} bytes"


@contextlib.contextmanager
def bounded_stream(
    session: requests.Session,
    method: str,
    url: str,
    *,
    service: str,
    timeout: float | tuple[float, float],
    budget: float,
    **kwargs: Any,
) -> Iterator[requests.Response]:
    """Send a request and yield its streamed response, all within ``budget`` seconds: the block
    reads the body (e.g. into a file) under the same deadline.

    :param session: a :func:`retrying_session`.
    :param method: the HTTP method.
    :param url: the URL.
    :param service: what the errors call the call, e.g. ``dbt API GET files/x/download``.
    :param timeout: seconds per connect / read (``requests``' ``timeout``).
    :param budget: the whole call's deadline in seconds (see :func:`call_budget`).
    :param kwargs: ``requests``' other arguments.
    :raises HttpLimitError: the deadline passed, or a ``Retry-After`` did not fit in it.
    :raises requests.RequestException: the call failed otherwise.
    """
    import requests

    with _deadline(budget) as call:
        try:
            response = session.request(method, url, timeout=timeout, stream=True, **kwargs)
        except requests.RequestException:
            _raise_if_over_budget(service, budget, call)
            raise
        with response:
            _raise_if_over_budget(service, budget, call)
            try:
                yield response
            except requests.RequestException:
                _raise_if_over_budget(service, budget, call)
                raise
            _raise_if_over_budget(service, budget, call)  # a cut may look like the end of the body


def bounded_request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    service: str,
    timeout: float | tuple[float, float],
    budget: float,
    max_bytes: int = MAX_REPLY_BYTES,
    **kwargs: Any,
) -> BoundedResponse:
    """Send a request and read its reply within ``budget`` seconds and ``max_bytes`` bytes.

    A success's body is read whole up to ``max_bytes`` (a larger one is refused, as it streams in);
    an error's (status >= 400) only up to :data:`ERROR_BODY_BYTES`.

    :param session: a :func:`retrying_session`.
    :param method: the HTTP method.
    :param url: the URL.
    :param service: what the errors call the call, e.g. ``Datacoves secrets API GET secrets/x``.
    :param timeout: seconds per connect / read (``requests``' ``timeout``).
    :param budget: the whole call's deadline in seconds (see :func:`call_budget`).
    :param max_bytes: the largest success body read.
    :param kwargs: ``requests``' other arguments.
    :raises HttpLimitError: the deadline passed, a ``Retry-After`` did not fit in it, or the reply
        was too large.
    :raises requests.RequestException: the call failed otherwise.
    """
    with bounded_stream(session, method, url, service=service, timeout=timeout, budget=budget, **kwargs) as r:
        limit = max_bytes if r.status_code < 400 else ERROR_BODY_BYTES
        declared = r.headers.get("Content-Length", "")
        if r.status_code < 400 and declared.isdigit() and int(declared) > limit:
            raise _too_large(service, max_bytes)
        chunks: list[bytes] = []
        size = 0
        for chunk in r.iter_content(chunk_size=64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if r.status_code < 400:
                    raise _too_large(service, max_bytes)
                break  # enough of an error reply for its message
        content = b"".join(chunks)[:limit]
        return BoundedResponse(r.status_code, r.reason or "", r.headers, content, r.encoding)


def post_webhook(
    url: str,
    body: bytes,
    *,
    service: str,
    timeout: float,
    retries: int,
    content_type: str,
    proxies: dict[str, str] | None = None,
) -> BoundedResponse:
    """POST a webhook message (Teams, Slack) through a new retrying session (1 s backoff base),
    within ``timeout * (retries + 1)`` seconds, reading at most :data:`WEBHOOK_REPLY_BYTES`.

    :param url: the webhook URL.
    :param body: the message, serialised.
    :param service: what the errors call the webhook.
    :param timeout: seconds per attempt (connecting takes at most 10 s of it).
    :param retries: further attempts after connection errors, 429 and 5xx answers.
    :param content_type: the body's ``Content-Type``.
    :param proxies: ``requests``' proxies, if any.
    :raises HttpLimitError: the deadline passed, a ``Retry-After`` did not fit, or the reply was too large.
    :raises requests.RequestException: the post failed otherwise.
    """
    session = retrying_session(retries=retries, backoff_factor=1.0)
    try:
        return bounded_request(
            session,
            "POST",
            url,
            service=service,
            timeout=(min(float(timeout), 10.0), float(timeout)),
            budget=call_budget(timeout, retries),
            max_bytes=WEBHOOK_REPLY_BYTES,
            data=body,
            headers={"Content-Type": content_type},
            proxies=proxies,
        )
    finally:
        session.close()


# -- logging and argument checks ---------------------------------------------------------------------


class _RedactArguments(logging.Filter):
    """Passes a log record's arguments through Airflow's secrets masker before they are formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            from datacoves_airflow_provider.compat import redact

            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def redact_urllib3_log_arguments() -> None:
    """Mask secrets in urllib3's retry warnings. urllib3 logs the request's path and query as an
    argument (``Retrying (...) after connection broken by ...: /workflows/.../invoke?sig=...``); on
    Airflow 3 the masker sees only the message template, so a webhook signature the masker knows
    would reach the log. Installed once, on urllib3's connection pool logger only."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactArguments) for f in logger.filters):
        logger.addFilter(_RedactArguments())


def check_timeout_and_retries(timeout: object, retries: object) -> None:
    """Check a client's ``timeout`` and ``retries`` when it is created, not when a request is due.

    :param timeout: seconds per HTTP attempt: a number > 0.
    :param retries: further attempts: a whole number >= 0.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a number of seconds > 0 (e.g. timeout=30), got {timeout!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0 (e.g. retries=3), got {retries!r}")
