"""Databricks connections: a personal access token (the default), or a service principal's OAuth."""

from __future__ import annotations

import re
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfile
from datacoves_airflow_provider.environment import is_truthy


class DatabricksProfile(DbtProfile):
    """A Databricks connection with a personal access token: extra ``token``, or the Password with
    Login empty."""

    adapter = "databricks"
    connection_types = ("databricks",)
    required = (
        ("host", "Host"),
        ("http_path", "extra 'http_path'"),
        ("schema", "extra 'schema'"),
    )
    one_of = (("token", "client_secret"), "a token in the Password field (Login empty)")
    secret_fields = frozenset({"token", "client_secret"})

    def target(self) -> dict[str, Any]:
        f = self.fields
        host = re.sub(r"^https?://", "", str(f.extra("host") or f.attr("host") or "")).rstrip("/")
        target: dict[str, Any] = {
            "type": "databricks",
            "host": host or None,
            "http_path": f.extra("http_path"),
            "catalog": f.extra("catalog"),
            "schema": f.extra("schema"),
        }
        self.credentials(target)
        return target

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        if f.extra("token"):
            target["token"] = f.extra("token")
        elif f.attr("password") and not f.attr("login"):
            target["token"] = f.attr("password")
        elif f.attr("password"):
            raise f.error(
                "has a login and a password, which is basic auth; dbt-databricks needs a personal "
                "access token: put the token in the Password field and leave Login empty"
            )
        else:
            target["token"] = None


class DatabricksOAuthProfile(DatabricksProfile):
    """A service principal's OAuth (extra ``service_principal_oauth``: true, no extra ``token``):
    Login and Password are the client's id and secret."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return not fields.extra("token") and is_truthy(
            fields.extra("service_principal_oauth"), connection_extra=True
        )

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        target.update(auth_type="oauth", client_id=f.attr("login"), client_secret=f.attr("password"))


#: Asked in this order whether they read a connection; the adapter's own class last.
PROFILES = (DatabricksOAuthProfile, DatabricksProfile)
