"""``DatacovesSecretsBackend``: AWS Secrets Manager, then the Datacoves secrets manager, then Airflow.

Airflow allows one custom secrets backend. This one chains the two stores Datacoves projects use,
in the documented order, and Airflow's own environment variables and metastore follow it::

    [secrets]
    backend = datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend
    backend_kwargs = {"aws_secrets_manager": {"variables_lookup_pattern": "^aws_",
                      "connections_lookup_pattern": "^aws_", "region_name": "us-west-2"},
                      "cache_ttl_seconds": 60}

1. **AWS Secrets Manager**, when ``aws_secrets_manager`` is given: the amazon provider's own
   ``SecretsManagerBackend`` with those kwargs (secrets at ``airflow/variables/<name>`` and
   ``airflow/connections/<name>``; names that do not match a ``*_lookup_pattern`` cost no API call).
   On a platform worker without that kwarg, **the project's secondary backend** takes this place:
   the class and kwargs the Airflow variable ``datacoves-secondary-secret`` names
   (``{"backend": "<dotted class path>", "backend_config": {...}}``).
2. **The Datacoves secrets manager**, for names starting with ``datacoves-`` only (any other name
   costs no call), in one of two dialects:

   - ``backend_kwargs`` naming the API (``api_endpoint``, ``api_token``, ``account``, ``project``,
     ``environment``) select the public v3 route, as do ``DATACOVES__API_ENDPOINT`` and friends
     when the next case does not apply
     (:class:`~datacoves_airflow_provider.secrets.api_client.DatacovesSecretsClient`);
   - else ``DATACOVES__SECRETS_API_ENDPOINT`` (what the platform sets) selects the platform's route,
     authenticated with the Airflow variable ``datacoves-primary-secret``
     (:class:`~datacoves_airflow_provider.secrets.api_client.PlatformSecretsClient`).

   The platform's own token variables (``datacoves-primary-secret``, ``datacoves-secondary-secret``,
   ``datacoves-dbt-api-secret``) are never looked up here: this backend answers "not found" for
   them at once, and they come from Airflow's environment variables or metastore. When this backend
   needs one of them, it asks the other backends Airflow searches, never itself.
3. Airflow's environment variables (``AIRFLOW_VAR_*``, ``AIRFLOW_CONN_*``) and metastore.

Every value served is registered with the secrets masker, with its parts: every leaf of a
Datacoves document whatever its key, and every line of a multi-line value (see
:func:`mask_secret_parts`).

**When the Datacoves API is down** (or anything else fails while a ``datacoves-`` name is fetched
or decoded), a ``datacoves-`` name raises instead of answering "not found":
the value lives only there, and answering "not found" would let Airflow serve another copy of the
name from the metastore. On Airflow 3 the error is raised as Airflow's
``AirflowSecretsBackendAccessDenied``, which stops the search; Airflow 2.11 logs any backend error
and searches on, so there a stale copy in the metastore or an ``AIRFLOW_VAR_`` variable could still
be served: keep ``datacoves-`` names in Datacoves only. A ``datacoves-secondary-secret`` that
cannot be used (not JSON, no such class, kwargs the class refuses) is the same refusal, for every
name: the secondary backend comes first, and no other store may answer in its place.

Beside this module: :mod:`.secondary` (starting the backend ``datacoves-secondary-secret`` names),
:mod:`.connections` (a secret's value as an Airflow connection), :mod:`.masking` (registering a
value's parts with the masker) and :mod:`.api_client` (the two dialects of the Datacoves API).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from datacoves_airflow_provider.compat import BaseSecretsBackend
from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError
from datacoves_airflow_provider.optional_import import requires_extra
from datacoves_airflow_provider.secrets.connections import (
    _connection_problem,
    _uri_secrets,
    _with_connection_fields,
)
from datacoves_airflow_provider.secrets.masking import mask_secret_parts
from datacoves_airflow_provider.secrets.secondary import SECONDARY_SECRET_VARIABLE, load_secondary_backend

__all__ = ["DatacovesSecretsBackend"]

log = logging.getLogger(__name__)

#: Names the Datacoves secrets manager answers (docs: "ONLY look for variables prefixed with datacoves-").
DATACOVES_PREFIX = "datacoves-"
#: The variable holding the platform secrets API's token.
PRIMARY_SECRET_VARIABLE = "datacoves-primary-secret"
#: The platform's plumbing tokens: never asked of any store of this backend (Airflow's environment
#: variables and metastore answer them).
PLATFORM_TOKEN_VARIABLES = frozenset(
    (PRIMARY_SECRET_VARIABLE, SECONDARY_SECRET_VARIABLE, "datacoves-dbt-api-secret")
)
#: The platform secrets API's URL, set on every Datacoves Airflow.
SECRETS_API_ENDPOINT_VARIABLE = "DATACOVES__SECRETS_API_ENDPOINT"


class DatacovesSecretsBackend(BaseSecretsBackend):
    """Variables and connections from AWS Secrets Manager and the Datacoves secrets manager.

    :param aws_secrets_manager: kwargs for the amazon provider's ``SecretsManagerBackend``
        (``variables_lookup_pattern``, ``connections_lookup_pattern``, ``region_name``,
        ``aws_access_key_id``, ``aws_secret_access_key``, ``endpoint_url``, ...). None (default)
        skips AWS.
    :param datacoves: whether to ask the Datacoves secrets manager (default True).
    :param datacoves_prefix: the names it answers (default ``datacoves-``).
    :param cache_ttl_seconds: keep answers (found or not found) this long in this process; 0
        (default) keeps nothing. Airflow 3 has its own cache too (``[secrets] use_cache``).
    :param api_endpoint: the Datacoves API (default: ``DATACOVES__API_ENDPOINT``). Giving this or
        any of the four below selects the public v3 route even on a platform worker.
    :param api_token: its token (default: ``DATACOVES__API_TOKEN``).
    :param account: the account (default: ``DATACOVES__ACCOUNT_ID`` / ``DATACOVES__ACCOUNT_SLUG``).
    :param project: the project slug (default: ``DATACOVES__PROJECT_SLUG``).
    :param environment: the environment slug (default: ``DATACOVES__ENVIRONMENT_SLUG``).
    """

    def __init__(
        self,
        aws_secrets_manager: Mapping[str, Any] | None = None,
        datacoves: bool = True,
        datacoves_prefix: str = DATACOVES_PREFIX,
        cache_ttl_seconds: float = 0,
        api_endpoint: str | None = None,
        api_token: str | None = None,
        account: str | None = None,
        project: str | None = None,
        environment: str | None = None,
    ) -> None:
        super().__init__()
        where = "[secrets] backend_kwargs:"
        if aws_secrets_manager is not None and not isinstance(aws_secrets_manager, Mapping):
            raise InvalidArgumentTypeError(
                f"{where} aws_secrets_manager must be an object of SecretsManagerBackend kwargs, "
                f'e.g. {{"variables_lookup_pattern": "^aws_"}}, got {aws_secrets_manager!r}'
            )
        for name in ("variables_lookup_pattern", "connections_lookup_pattern", "config_lookup_pattern"):
            pattern = (aws_secrets_manager or {}).get(name)
            try:
                re.compile(pattern or "")
            except (re.error, TypeError) as exc:
                raise InvalidArgumentError(
                    f"{where} aws_secrets_manager.{name}={pattern!r} is not a regex: {exc}"
                ) from None
        if (
            isinstance(cache_ttl_seconds, bool)
            or not isinstance(cache_ttl_seconds, (int, float))
            or cache_ttl_seconds < 0
        ):
            raise InvalidArgumentError(
                f"{where} cache_ttl_seconds must be a number >= 0, got {cache_ttl_seconds!r}"
            )
        if not isinstance(datacoves, bool):
            raise InvalidArgumentTypeError(
                f"{where} datacoves must be true or false (a JSON boolean, without quotes), got {datacoves!r}"
            )
        if not isinstance(datacoves_prefix, str) or not datacoves_prefix:
            raise InvalidArgumentError(
                f"{where} datacoves_prefix must be a non-empty string, got {datacoves_prefix!r}"
            )
        self.aws_kwargs = dict(aws_secrets_manager) if aws_secrets_manager is not None else None
        self.datacoves_enabled = bool(datacoves)
        self.datacoves_prefix = datacoves_prefix
        self.cache_ttl_seconds = float(cache_ttl_seconds)
        self._api_overrides = {
            "endpoint": api_endpoint,
            "token": api_token,
            "account": account,
            "project": project,
            "environment": environment,
        }
        self._aws: Any = None
        self._client: Any = None
        self._secondary: Any = None  # the secondary backend, or False when there is none
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    # -- Airflow's interface -------------------------------------------------------------------

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """A connection as a URI or JSON: AWS first, then Datacoves (``datacoves-`` names only).

        :param conn_id: the connection id.
        :param team_name: Airflow 3's multi-team name (passed to AWS when given).
        """
        return self._lookup("connection", conn_id, team_name)

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        """A variable's value: AWS first, then Datacoves (``datacoves-`` names only).

        :param key: the variable name.
        :param team_name: Airflow 3's multi-team name (passed to AWS when given).
        """
        return self._lookup("variable", key, team_name)

    def get_config(self, key: str) -> str | None:
        """An Airflow config value from AWS Secrets Manager (``config_prefix``), when configured in
        ``backend_kwargs``. The secondary backend of ``datacoves-secondary-secret`` is not asked:
        reading a variable while Airflow reads its configuration could recurse.

        :param key: the config key.
        """
        aws = self._aws_backend()
        return aws.get_config(key) if aws is not None else None

    # -- the chain -----------------------------------------------------------------------------

    def _lookup(self, kind: str, name: str, team_name: str | None) -> str | None:
        if name in PLATFORM_TOKEN_VARIABLES:  # Airflow's env vars and metastore answer these
            return None
        cached = self._cached(kind, name)
        if cached is not None:
            return cached[0]
        value = self._from_aws(kind, name, team_name)
        if value is None and self.datacoves_enabled and name.startswith(self.datacoves_prefix):
            value = self._from_datacoves(kind, name)
        if value is not None:
            mask_secret_parts(value)
        self._remember(kind, name, value)
        return value

    def _from_aws(self, kind: str, name: str, team_name: str | None) -> str | None:
        aws = self._aws_backend() if self.aws_kwargs is not None else self._secondary_backend()
        if aws is None:
            return None
        args = {"team_name": team_name} if team_name else {}
        if kind == "connection":
            return aws.get_conn_value(name, **args)
        return aws.get_variable(name, **args)

    def _from_datacoves(self, kind: str, name: str) -> str | None:
        """The value of a ``datacoves-`` name, or None when Datacoves has no such secret.

        Deny means deny: any failure while fetching or decoding it (an outage, a refusal, a reply
        that is not a secret document, or anything unexpected) is the same authoritative refusal,
        so that Airflow never serves another copy of the name instead.
        """
        from datacoves_airflow_provider.compat import SecretsLookupRefused
        from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError
        from datacoves_airflow_provider.secrets.api_client import DatacovesSecretsError

        try:
            return self._read_datacoves(kind, name)
        except SecretsLookupRefused:
            raise
        except (DatacovesSecretsError, DatacovesApiConfigError) as exc:
            log.error("Datacoves secrets manager: %s %r could not be read: %s", kind, name, exc)
            raise SecretsLookupRefused(
                f"{kind} {name!r} lives in the Datacoves secrets manager, which could not be read: {exc}"
            ) from None
        except Exception as exc:
            from datacoves_airflow_provider.compat import AirflowTaskTimeout

            if isinstance(exc, AirflowTaskTimeout):  # the task's own timeout: not this store's failure
                raise
            # the exception's text is not shown: it might quote the reply, i.e. the secret
            log.error(
                "Datacoves secrets manager: %s %r could not be read: %s while fetching or decoding it",
                kind,
                name,
                type(exc).__name__,
            )
            raise SecretsLookupRefused(
                f"{kind} {name!r} lives in the Datacoves secrets manager, which could not be read: "
                f"{type(exc).__name__} while fetching or decoding it"
            ) from None

    def _read_datacoves(self, kind: str, name: str) -> str | None:
        from datacoves_airflow_provider.compat import SecretsLookupRefused

        secret = self._datacoves_client().get_secret(name)
        if secret is not None and kind == "connection":
            secret = _with_connection_fields(secret)
        if secret is None:
            log.info(
                "Datacoves secrets manager: no %s %r (or it is not shared with stack services)", kind, name
            )
            return None
        mask_secret_parts(secret.value)  # every leaf, whatever its key is called
        if kind == "connection" and isinstance(secret.value, str):
            mask_secret_parts(_uri_secrets(secret.value))  # a URI's password and extra values
        if kind == "connection":
            problem = _connection_problem(secret.value)
            if problem:
                log.error("Datacoves secrets manager: connection %r is not a connection: %s", name, problem)
                raise SecretsLookupRefused(
                    f"connection {name!r} in the Datacoves secrets manager {problem}: store a connection "
                    "URI (e.g. postgres://user:password@host:5432/db) or a JSON object of connection fields "
                    f'(e.g. {{"conn_type": "postgres", "host": "..."}}) in secret {name!r}'
                )
        log.info(
            "Datacoves secrets manager: %s %r found (%s scope, %s)", kind, name, secret.scope, secret.format
        )
        return secret.as_text()

    def _aws_backend(self) -> Any:
        if self.aws_kwargs is None:
            return None
        if self._aws is None:
            with requires_extra("aws"):
                from airflow.providers.amazon.aws.secrets.secrets_manager import SecretsManagerBackend

            self._aws = SecretsManagerBackend(**self.aws_kwargs)
        return self._aws

    def _platform_endpoint(self) -> str | None:
        """``DATACOVES__SECRETS_API_ENDPOINT`` when the platform's dialect is selected: it is set
        and ``backend_kwargs`` name no API setting (they override everything)."""
        import os

        if any(value for value in self._api_overrides.values()):
            return None
        return os.environ.get(SECRETS_API_ENDPOINT_VARIABLE, "").strip() or None

    def _datacoves_client(self) -> Any:
        if self._client is None:
            from datacoves_airflow_provider.compat import mask_secret
            from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings
            from datacoves_airflow_provider.secrets.api_client import DatacovesSecretsClient

            endpoint = self._platform_endpoint()
            if endpoint is not None:
                self._client = self._platform_client(endpoint)
                return self._client
            settings = DatacovesApiSettings.from_environment(
                overrides=self._api_overrides, purpose="The Datacoves secrets manager"
            )
            mask_secret(settings.token)
            self._client = DatacovesSecretsClient(settings)
        return self._client

    def _platform_client(self, endpoint: str) -> Any:
        from datacoves_airflow_provider.compat import mask_secret
        from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError, _check_endpoint
        from datacoves_airflow_provider.secrets.api_client import PlatformSecretsClient

        _check_endpoint(endpoint, SECRETS_API_ENDPOINT_VARIABLE)
        token = (self._platform_variable(PRIMARY_SECRET_VARIABLE) or "").strip()
        if not token:
            raise DatacovesApiConfigError(
                f"The Datacoves secrets manager is not configured on this worker: "
                f"{SECRETS_API_ENDPOINT_VARIABLE} is set, but the Airflow variable {PRIMARY_SECRET_VARIABLE} "
                f"(its token) is not: set the environment variable AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET or "
                f"the variable {PRIMARY_SECRET_VARIABLE} in the metastore "
                "(Datacoves sets it for the environment)"
            )
        mask_secret(token)
        log.info("Datacoves secrets manager: the platform's secrets API at %s", endpoint)
        return PlatformSecretsClient(endpoint, token)

    def _platform_variable(self, key: str) -> str | None:
        """An Airflow variable from the other backends Airflow searches (environment variables,
        metastore), never from this one."""
        from datacoves_airflow_provider.compat import mask_secret, variable_from_other_secrets_backends

        value = variable_from_other_secrets_backends(key, skip=DatacovesSecretsBackend)
        if value is not None:
            mask_secret(value)
        return value

    def _secondary_backend(self) -> Any:
        """The backend ``datacoves-secondary-secret`` describes, on a platform worker; None when
        there is none (the variable is absent or empty, or this is not the platform's dialect).

        :raises SecretsLookupRefused: the variable is there but cannot be used (the reason, never
            its values).
        """
        if self._secondary is None:
            self._secondary = self._load_secondary() or False
        return self._secondary or None

    def _load_secondary(self) -> Any:
        if self._platform_endpoint() is None:
            return None
        raw = (self._platform_variable(SECONDARY_SECRET_VARIABLE) or "").strip()
        if not raw:
            return None
        return load_secondary_backend(raw, DatacovesSecretsBackend)

    # -- cache ---------------------------------------------------------------------------------

    def _cached(self, kind: str, name: str) -> tuple[str | None] | None:
        if not self.cache_ttl_seconds:
            return None
        with self._lock:
            entry = self._cache.get((kind, name))
        if entry is None or entry[0] < time.monotonic():
            return None
        return (entry[1],)

    def _remember(self, kind: str, name: str, value: str | None) -> None:
        if self.cache_ttl_seconds:
            with self._lock:
                self._cache[(kind, name)] = (time.monotonic() + self.cache_ttl_seconds, value)
