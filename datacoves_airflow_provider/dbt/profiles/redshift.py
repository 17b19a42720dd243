"""Redshift connections: a password (the default), or IAM."""

from __future__ import annotations

from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields
from datacoves_airflow_provider.dbt.profiles.postgres import PostgresProfile
from datacoves_airflow_provider.environment import is_truthy


class RedshiftProfile(PostgresProfile):
    """A Redshift connection with a password: read as a Postgres one, on port 5439 by default."""

    adapter = "redshift"
    connection_types = ("redshift",)
    aliases = {}
    required = (
        ("host", "Host"),
        ("user", "Login"),
        ("dbname", "Schema (Airflow's name for the database)"),
        ("schema", "extra 'schema'"),
    )
    one_of = (("password", "method"), "a Password, or extra 'iam': true")
    default_port = 5439


class RedshiftIamProfile(RedshiftProfile):
    """IAM authentication (extra ``iam``: true): the cluster from extra ``cluster_identifier`` or the
    Host, extras ``region`` and ``profile``; or a serverless work group (``is_serverless``)."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return is_truthy(fields.extra("iam"), connection_extra=True)

    def target(self) -> dict[str, Any]:
        f = self.fields
        target = super().target()
        host = str(target.get("host") or "")
        target.pop("password", None)
        target.update(
            method="iam",
            cluster_id=f.extra("cluster_identifier") or (host.split(".")[0] if host else None),
            region=f.extra("region"),
            iam_profile=f.extra("profile"),
        )
        if is_truthy(f.extra("is_serverless"), connection_extra=True):
            target.update(is_serverless=True, serverless_work_group=f.extra("serverless_work_group"))
        return target


#: Asked in this order whether they read a connection; the adapter's own class last.
PROFILES = (RedshiftIamProfile, RedshiftProfile)
