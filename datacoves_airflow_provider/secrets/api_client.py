"""Clients for the Datacoves secrets manager, in its two dialects.

**The platform's route** (what a Datacoves Airflow worker is given; :class:`PlatformSecretsClient`)::

    GET {DATACOVES__SECRETS_API_ENDPOINT}?slug={slug}
        Authorization: token {the Airflow variable datacoves-primary-secret}

    200 [{"value": <str | object>, ...}, ...]   the first item's value is the secret
    200 []                                      no such secret

**The public v3 route** (:class:`DatacovesSecretsClient`; the reference server in
:mod:`datacoves_airflow_provider.testing.datacoves_api_server` implements both)::

    GET {DATACOVES__API_ENDPOINT}/api/v3/accounts/{a}/projects/{p}/environments/{e}/secrets/{slug}
        Authorization: Bearer {DATACOVES__API_TOKEN}

    200 {"slug": "datacoves-x", "scope": "environment" | "project",
         "format": "key_value" | "json" | "multiple_key_value", "value": <str | object>}
    404 when neither the environment nor its project has the secret

The server resolves the scope: an environment secret wins over a project secret of the same slug.
Only secrets shared with stack services are visible to Airflow's token.

Formats (docs ``how_to_secrets``): ``key_value`` is one string; ``json`` is any JSON document;
``multiple_key_value`` is an object of string pairs. :meth:`DatacovesSecret.as_text` turns each
into the text Airflow expects from a secrets backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.http.authorized_client import AuthorizedClient
from datacoves_airflow_provider.http.bounded import failures_raised_as
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.http.session import (
    MAX_REPLY_BYTES,
    bounded_request,
    call_budget,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "DatacovesApiSettings",
    "DatacovesSecret",
    "DatacovesSecretsClient",
    "DatacovesSecretsError",
    "PlatformSecretsClient",
]

#: Secrets lookups happen while a task or a DAG parse waits: fail fast. A lookup ends within
#: READ_TIMEOUT x (RETRIES + 1) seconds in all (see :func:`~.http_session.call_budget`).
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
RETRIES = 2
#: The largest secrets reply read (a secret document is a few KiB).
MAX_SECRET_BYTES = MAX_REPLY_BYTES
FORMATS = ("key_value", "json", "multiple_key_value")


class DatacovesSecretsError(DatacovesError, RuntimeError):
    """The secrets API could not answer; the message names the route and the reason, never the token."""


@dataclass(frozen=True)
class DatacovesSecret:
    """One secret as the API returns it.

    :param slug: its reference key, e.g. ``datacoves-warehouse_password``.
    :param scope: ``environment`` or ``project``.
    :param format: ``key_value``, ``json`` or ``multiple_key_value``.
    :param value: a string, or the parsed JSON document / object of pairs (never in ``repr``).
    """

    slug: str
    scope: str
    format: str
    value: Any = field(repr=False)

    def as_text(self) -> str:
        """The value as a secrets backend returns it: a string as is, anything else as JSON (so
        ``Variable.get(..., deserialize_json=True)`` and JSON connections work)."""
        return self.value if isinstance(self.value, str) else json.dumps(self.value)


class _SecretsApiClient(AuthorizedClient):
    """What both secrets clients share: the bounded session, one GET, its errors and its JSON.

    :param authorization: the ``Authorization`` header's value (never shown).
    :param session: a ``requests.Session`` (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 2 s of it).
    :param retries: further attempts after the first.
    """

    #: What a reply must be, for the "answered something that is not ..." message.
    expected = "a secret document"

    def __init__(
        self, authorization: str, *, session: requests.Session | None, timeout: float, retries: int
    ) -> None:
        super().__init__(authorization, session=session, timeout=timeout, retries=retries, backoff_factor=0.2)

    def _get_json(
        self, url: str, route: str, where: str, hints: dict[int, str], *, missing_on_404: bool, **kwargs: Any
    ) -> Any:
        """The JSON reply of ``GET url`` (None when it is not JSON; :data:`_MISSING` for a 404 when
        ``missing_on_404``); a :class:`DatacovesSecretsError` naming ``route`` for anything else.

        :param url: what to get.
        :param route: the route as messages show it.
        :param where: the API's address as messages show it.
        :param hints: a hint per error status.
        :param missing_on_404: a 404 means "no such secret".
        :param kwargs: more ``requests`` arguments (``params``).
        """
        service = f"Datacoves secrets API {route} at {where}"
        with failures_raised_as(DatacovesSecretsError, f"{service} failed after {self.retries + 1} attempts"):
            response = bounded_request(
                self._session,
                "GET",
                url,
                service=service,
                timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
                budget=call_budget(self.timeout, self.retries),
                max_bytes=MAX_SECRET_BYTES,
                **kwargs,
            )
        if response.status_code == 404 and missing_on_404:
            return _MISSING
        if response.status_code >= 400:
            status = f"{response.status_code} {response.reason}"
            hint = hints.get(response.status_code, "")
            raise DatacovesSecretsError(f"Datacoves secrets API {route} answered {status}{hint}")
        try:
            return response.json()
        except RecursionError:
            raise DatacovesSecretsError(
                f"Datacoves secrets API {route} answered a JSON document nested too deeply to read "
                f"(more levels than Python's JSON parser takes): not {self.expected}"
            ) from None
        except ValueError:
            return None


#: :meth:`_SecretsApiClient._get_json`'s answer for "no such secret".
_MISSING = object()


class DatacovesSecretsClient(_SecretsApiClient):
    """Reads secrets, with short timeouts and bounded retries on connection errors, 429 and 5xx;
    each lookup ends within ``timeout * (retries + 1)`` seconds and reads at most
    :data:`MAX_SECRET_BYTES`.

    :param settings: where the API is and whose secrets to read.
    :param session: a ``requests.Session`` (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 2 s of it).
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
        super().__init__(f"Bearer {settings.token}", session=session, timeout=timeout, retries=retries)
        self.settings = settings
        self._secrets_url = f"{settings.environment_url}/secrets"

    def __repr__(self) -> str:  # the session's headers hold the token: never shown
        return f"DatacovesSecretsClient(settings={self.settings!r})"

    def get_secret(self, slug: str) -> DatacovesSecret | None:
        """The secret ``slug``, or None when it does not exist (or is not shared with Airflow).

        :param slug: the secret's reference key.
        :raises DatacovesSecretsError: the API could not answer, refused, or answered something
            that is not a secret document (never quoting it).
        """
        route = f"GET secrets/{slug}"
        data = self._get_json(
            f"{self._secrets_url}/{quote(slug, safe='')}",
            route,
            self.settings.endpoint,
            {401: " (DATACOVES__API_TOKEN was rejected)", 403: " (the token may not read it)"},
            missing_on_404=True,
        )
        if data is _MISSING:
            return None
        try:
            secret = DatacovesSecret(
                slug=str(data["slug"]),
                scope=str(data["scope"]),
                format=str(data["format"]),
                value=data["value"],
            )
        except (KeyError, TypeError):
            raise DatacovesSecretsError(
                f"Datacoves secrets API {route} answered something that is not a secret document"
            ) from None
        if secret.format not in FORMATS:
            raise DatacovesSecretsError(f"secret {slug!r} has an unknown format {secret.format!r}")
        return secret


class PlatformSecretsClient(_SecretsApiClient):
    """Reads secrets from the platform's secrets API (``DATACOVES__SECRETS_API_ENDPOINT``), with the
    same bounds as :class:`DatacovesSecretsClient`: short timeouts, bounded retries on connection
    errors, 429 and 5xx, each lookup ending within ``timeout * (retries + 1)`` seconds and reading at
    most :data:`MAX_SECRET_BYTES`.

    :param endpoint: the environment's secrets URL, e.g. ``https://api.example.com/api/v1/secrets/dev123``.
    :param token: the token sent as ``Authorization: token <token>`` (the variable
        ``datacoves-primary-secret``); never shown.
    :param session: a ``requests.Session`` (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 2 s of it).
    :param retries: further attempts after the first.
    """

    expected = "a list of secrets"

    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = READ_TIMEOUT,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(f"token {token}", session=session, timeout=timeout, retries=retries)
        self.endpoint = endpoint

    def __repr__(self) -> str:  # the session's headers hold the token: never shown
        return f"PlatformSecretsClient(endpoint={self.endpoint!r}, token='***')"

    def get_secret(self, slug: str) -> DatacovesSecret | None:
        """The secret ``slug``, or None when the API answers an empty list.

        :param slug: the secret's name, e.g. ``datacoves-warehouse``.
        :raises DatacovesSecretsError: the API could not answer, refused, or answered something
            that is not a list of secrets (never quoting it).
        """
        route = f"GET ?slug={slug}"
        hints = {
            401: " (the token in the Airflow variable datacoves-primary-secret was rejected)",
            403: " (the token in datacoves-primary-secret may not read it)",
            404: (
                " (check DATACOVES__SECRETS_API_ENDPOINT: it should end in"
                " /api/v1/secrets/<environment slug>)"
            ),
        }
        data = self._get_json(
            self.endpoint, route, self.endpoint, hints, missing_on_404=False, params={"slug": slug}
        )
        if isinstance(data, list) and not data:
            return None
        first = data[0] if isinstance(data, list) else None
        if not isinstance(first, dict) or "value" not in first:
            raise DatacovesSecretsError(
                f"Datacoves secrets API {route} answered something that is not a list of secrets "
                "(a JSON list whose first item has a 'value')"
            )
        value = first["value"]
        return DatacovesSecret(
            slug=slug,
            scope=str(first.get("scope") or "environment"),
            format=str(first.get("format") or ("key_value" if isinstance(value, str) else "json")),
            value=value,
        )
