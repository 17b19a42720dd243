"""A client for the Datacoves secrets manager.

The secrets API is not public; this provider defines its one route here (and the reference server
in :mod:`datacoves_airflow_provider.testing.secrets_api_server` implements it)::

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datacoves_airflow_provider.hooks.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.hooks.http_session import retrying_session

if TYPE_CHECKING:
    import requests

__all__ = ["DatacovesApiSettings", "DatacovesSecret", "DatacovesSecretsClient", "DatacovesSecretsError"]

#: Secrets lookups happen while a task or a DAG parse waits: fail fast.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
RETRIES = 2
FORMATS = ("key_value", "json", "multiple_key_value")


class DatacovesSecretsError(RuntimeError):
    """The secrets API could not answer; the message names the route and the reason, never the token."""


@dataclass(frozen=True)
class DatacovesSecret:
    """One secret as the API returns it.

    :param slug: its reference key, e.g. ``datacoves-warehouse_password``.
    :param scope: ``environment`` or ``project``.
    :param format: ``key_value``, ``json`` or ``multiple_key_value``.
    :param value: a string, or the parsed JSON document / object of pairs.
    """

    slug: str
    scope: str
    format: str
    value: Any

    def as_text(self) -> str:
        """The value as a secrets backend returns it: a string as is, anything else as JSON (so
        ``Variable.get(..., deserialize_json=True)`` and JSON connections work)."""
        return self.value if isinstance(self.value, str) else json.dumps(self.value)


class DatacovesSecretsClient:
    """Reads secrets, with short timeouts and bounded retries on connection errors, 429 and 5xx.

    :param settings: where the API is and whose secrets to read.
    :param session: a ``requests.Session`` (default: a new one with the retry policy).
    """

    def __init__(self, settings: DatacovesApiSettings, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = (
            session if session is not None else retrying_session(retries=RETRIES, backoff_factor=0.2)
        )
        self._session.headers["Authorization"] = f"Bearer {settings.token}"
        self._secrets_url = f"{settings.environment_url}/secrets"

    def get_secret(self, slug: str) -> DatacovesSecret | None:
        """The secret ``slug``, or None when it does not exist (or is not shared with Airflow).

        :param slug: the secret's reference key.
        """
        import requests

        route = f"secrets/{slug}"
        try:
            response = self._session.get(
                f"{self._secrets_url}/{quote(slug, safe='')}", timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
        except requests.RequestException as exc:
            raise DatacovesSecretsError(
                f"Datacoves secrets API GET {route} at {self.settings.endpoint} failed after {RETRIES + 1} "
                f"attempts: {type(exc).__name__}"
            ) from None
        with response:
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                hint = {401: " (DATACOVES__API_TOKEN was rejected)", 403: " (the token may not read it)"}.get(
                    response.status_code, ""
                )
                status = f"{response.status_code} {response.reason}"
                raise DatacovesSecretsError(f"Datacoves secrets API GET {route} answered {status}{hint}")
            try:
                data = response.json()
                secret = DatacovesSecret(
                    slug=str(data["slug"]),
                    scope=str(data["scope"]),
                    format=str(data["format"]),
                    value=data["value"],
                )
            except (ValueError, KeyError, TypeError):
                raise DatacovesSecretsError(
                    f"Datacoves secrets API GET {route} answered something that is not a secret document"
                ) from None
        if secret.format not in FORMATS:
            raise DatacovesSecretsError(f"secret {slug!r} has an unknown format {secret.format!r}")
        return secret
