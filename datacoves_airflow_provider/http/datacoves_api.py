"""Where the Datacoves API is, and whose account, project and environment a client works on.

Shared by the dbt API client (:mod:`~datacoves_airflow_provider.dbt.api_client`) and the secrets
client (:mod:`~datacoves_airflow_provider.secrets.api_client`). Read from the variables the
platform injects, at the point of use, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["DatacovesApiConfigError", "DatacovesApiSettings", "token_hidden_in_repr"]

#: Each setting and the variables it is read from, first match wins.
_VARIABLES = {
    "endpoint": ("DATACOVES__API_ENDPOINT",),
    "token": ("DATACOVES__API_TOKEN",),
    "account": ("DATACOVES__ACCOUNT_ID", "DATACOVES__ACCOUNT_SLUG"),
    "project": ("DATACOVES__PROJECT_SLUG",),
    "environment": ("DATACOVES__ENVIRONMENT_SLUG",),
}


class DatacovesApiConfigError(DatacovesError, ValueError):
    """A setting is missing or malformed; the message names the variables to set."""


_SettingsClass = TypeVar("_SettingsClass", bound=type)


def token_hidden_in_repr(cls: _SettingsClass) -> _SettingsClass:
    """Give a settings dataclass a ``repr`` that shows its ``token`` field as ``'***'``, so the token
    never appears in a repr, a log line or a traceback (apply it over ``@dataclass``).

    :param cls: the dataclass.
    """

    def __repr__(self: Any) -> str:
        shown = ", ".join(
            f"{f.name}={'***' if f.name == 'token' else getattr(self, f.name)!r}" for f in fields(self)
        )
        return f"{type(self).__name__}({shown})"

    cls.__repr__ = __repr__  # type: ignore[method-assign, assignment]
    return cls


@token_hidden_in_repr
@dataclass(frozen=True)
class DatacovesApiSettings:
    """The API's base URL and token, and the account / project / environment to work on.

    :param endpoint: the API's base URL (``DATACOVES__API_ENDPOINT``).
    :param token: the bearer token (``DATACOVES__API_TOKEN``).
    :param account: the account id or slug (``DATACOVES__ACCOUNT_ID`` or ``DATACOVES__ACCOUNT_SLUG``).
    :param project: the project slug (``DATACOVES__PROJECT_SLUG``).
    :param environment: the environment slug (``DATACOVES__ENVIRONMENT_SLUG``).
    """

    endpoint: str
    token: str
    account: str
    project: str
    environment: str

    @property
    def base_url(self) -> str:
        """``endpoint`` with the ``/api/v3`` prefix of every route."""
        base = self.endpoint.rstrip("/")
        return base if base.endswith("/api/v3") else f"{base}/api/v3"

    @property
    def project_url(self) -> str:
        """The URL of the project's routes: ``.../accounts/{account}/projects/{project}``."""
        return (
            f"{self.base_url}/accounts/{quote(self.account, safe='')}/projects/{quote(self.project, safe='')}"
        )

    @property
    def environment_url(self) -> str:
        """The URL of the environment's routes: ``<project_url>/environments/{environment}``."""
        return f"{self.project_url}/environments/{quote(self.environment, safe='')}"

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        overrides: Mapping[str, str | None] | None = None,
        purpose: str = "the Datacoves API",
    ) -> DatacovesApiSettings:
        """Read the settings the Datacoves platform injects; a missing one is a clear error.

        :param environ: the variables to read (default: ``os.environ``).
        :param overrides: values that win over the variables (e.g. a secrets backend's kwargs).
        :param purpose: named in the error message.
        """
        env = os.environ if environ is None else environ
        found: dict[str, str] = {}
        missing: list[str] = []
        sources: dict[str, str] = {}
        for field, names in _VARIABLES.items():
            value = ((overrides or {}).get(field) or "").strip()
            sources[field] = f"the {field} given to {purpose[:1].lower()}{purpose[1:]}"
            if not value:
                name = next((n for n in names if env.get(n, "").strip()), "")
                value, sources[field] = (env[name].strip(), name) if name else ("", "")
            if value:
                found[field] = value
            else:
                missing.append(" or ".join(names))
        if missing:
            raise DatacovesApiConfigError(
                f"{purpose} is not configured on this worker: set "
                + ", ".join(missing)
                + " (Datacoves sets them when the feature is enabled for the environment)"
            )
        _check_endpoint(found["endpoint"], sources["endpoint"])
        return cls(**found)


def _check_endpoint(endpoint: str, source: str) -> None:
    """A clear error when ``endpoint`` is not an http(s) URL with a host.

    :param endpoint: the API's base URL.
    :param source: where it was read from (a variable's name), for the message.
    """
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise DatacovesApiConfigError(
            f"{source} is {endpoint!r}, which cannot be read as a URL ({exc}): set it to the API's "
            "http(s) URL, e.g. https://api.example.com"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DatacovesApiConfigError(
            f"{source} is {endpoint!r}, not a URL: set it to the API's http(s) URL with its scheme, "
            + (f"e.g. https://{endpoint}" if "://" not in endpoint else "e.g. https://api.example.com")
        )
