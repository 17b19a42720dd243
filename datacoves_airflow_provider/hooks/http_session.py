"""One ``requests`` session factory for our HTTP clients: bounded retries with backoff.

``requests`` and ``urllib3`` are imported when a session is made, never at module import.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

__all__ = ["check_timeout_and_retries", "retrying_session"]


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
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def check_timeout_and_retries(timeout: object, retries: object) -> None:
    """Check a client's ``timeout`` and ``retries`` when it is created, not when a request is due.

    :param timeout: seconds per HTTP attempt: a number > 0.
    :param retries: further attempts: a whole number >= 0.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a number of seconds > 0 (e.g. timeout=30), got {timeout!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0 (e.g. retries=3), got {retries!r}")
