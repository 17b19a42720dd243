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

Clients import all of it from here; the parts live beside this module: :mod:`.deadline` (the
call's deadline and its watchdog), :mod:`.bounded` (the bounded calls and their limits) and
:mod:`.multipart` (streamed uploads). This module makes the sessions (urllib3's ``Retry`` bounded
by the deadline) and posts webhook messages.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import InvalidArgumentError
from datacoves_airflow_provider.http.bounded import (
    ERROR_BODY_BYTES,
    MAX_REPLY_BYTES,
    BoundedResponse,
    HttpLimitError,
    bounded_request,
    bounded_stream,
    decode_body,
)
from datacoves_airflow_provider.http.deadline import _current, call_budget
from datacoves_airflow_provider.http.multipart import MultipartFileBody

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

#: The largest reply read from a webhook (Teams and Slack answer a few bytes).
WEBHOOK_REPLY_BYTES = 1024 * 1024


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
        raise InvalidArgumentError(
            f"timeout must be a number of seconds > 0 (e.g. timeout=30), got {timeout!r}"
        )
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidArgumentError(f"retries must be a whole number >= 0 (e.g. retries=3), got {retries!r}")
