"""One ``requests`` session factory for our HTTP clients: bounded retries with backoff.

``requests`` and ``urllib3`` are imported when a session is made, never at module import.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

__all__ = ["check_timeout_and_retries", "redact_urllib3_log_arguments", "retrying_session"]


def retrying_session(
    *, retries: int, statuses: Collection[int] = (429, 500, 502, 503, 504), backoff_factor: float = 0.5
) -> requests.Session:
    """A session that retries connection errors and ``statuses`` ``retries`` times, with
    exponential backoff (``backoff_factor * 2**n`` seconds) and ``Retry-After`` honoured.

    Every method is retried: our clients only send idempotent requests (an upload with the same
    name and tag replaces itself).

    :param retries: attempts after the first.
    :param statuses: response codes worth another attempt.
    :param backoff_factor: the backoff's base, in seconds.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
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
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
