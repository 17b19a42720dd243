"""What every client of a Datacoves API starts with: a bounded, retrying session that sends one
``Authorization`` header.

Shared by the dbt API clients (:class:`~datacoves_airflow_provider.dbt.api_transport.DbtApiTransport`)
and the secrets clients (:mod:`~datacoves_airflow_provider.secrets.api_client`). ``requests`` is
imported when a client is created, never at module import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.http.session import check_timeout_and_retries, retrying_session

if TYPE_CHECKING:
    import requests

__all__ = ["AuthorizedClient"]


class AuthorizedClient:
    """A client's session, timeout and retries, checked when the client is created.

    :param authorization: the ``Authorization`` header's value (never shown).
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt.
    :param retries: further attempts after the first.
    :param policy: more arguments of :func:`~datacoves_airflow_provider.http.session.retrying_session`
        for a new session (``statuses``, ``backoff_factor``).
    """

    def __init__(
        self,
        authorization: str,
        *,
        session: requests.Session | None,
        timeout: float,
        retries: int,
        **policy: Any,
    ) -> None:
        check_timeout_and_retries(timeout, retries)
        self.timeout = timeout
        self.retries = retries
        self._session = session if session is not None else retrying_session(retries=retries, **policy)
        self._session.headers["Authorization"] = authorization
