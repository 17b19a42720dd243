"""Bounded calls: a request sent and its reply read within the call's deadline and a size limit,
with the error that names the limit reached (see :mod:`.session`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.http.deadline import _Call, _deadline

if TYPE_CHECKING:
    import requests

__all__ = [
    "ERROR_BODY_BYTES",
    "MAX_REPLY_BYTES",
    "BoundedResponse",
    "HttpLimitError",
    "bounded_request",
    "bounded_stream",
    "decode_body",
    "failures_raised_as",
]

#: The largest JSON reply a client reads (artifact downloads stream to disk and are not capped).
MAX_REPLY_BYTES = 10 * 1024 * 1024
#: How much of an error reply is read: what an error message quotes.
ERROR_BODY_BYTES = 4096


class HttpLimitError(DatacovesError):
    """A call reached one of its limits: its total deadline, a ``Retry-After`` longer than what is
    left of it, or a reply larger than the client reads. The message names the service and the
    limit; clients re-raise it as their own error."""


@contextlib.contextmanager
def failures_raised_as(error: type[Exception], unreachable: str) -> Iterator[None]:
    """Raise a failed call as the client's own ``error``: a reached limit with its message, any
    other ``requests`` error as ``"<unreachable>: <its type name>"`` (never its text, which may
    hold the URL). The original is not chained (``from None``).

    :param error: the client's error class.
    :param unreachable: what failed, e.g. ``"could not post to the Slack webhook (connection 'x')"``.
    """
    import requests

    try:
        yield
    except HttpLimitError as exc:
        raise error(str(exc)) from None
    except requests.RequestException as exc:
        raise error(f"{unreachable}: {type(exc).__name__}") from None


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
