"""Postgres connections (type ``postgres``, or ``postgresql``)."""

from __future__ import annotations

from typing import Any, ClassVar

from datacoves_airflow_provider.dbt.profiles.base import DbtProfile

#: Extras copied to the target as they are, when set.
_OPTIONAL_EXTRAS = (
    "sslmode", "sslcert", "sslkey", "sslrootcert", "keepalives_idle", "connect_timeout", "role"
)  # fmt: skip


class PostgresProfile(DbtProfile):
    """A Postgres connection: Host, Port, Login, Password, Schema (Airflow's name for the database),
    and extra ``schema`` (dbt's schema)."""

    adapter = "postgres"
    connection_types = ("postgres",)
    aliases = {"postgresql": "postgres"}
    required: ClassVar[tuple[tuple[str, str], ...]] = (  # Redshift's differ
        ("host", "Host"),
        ("user", "Login"),
        ("password", "Password"),
        ("dbname", "Schema (Airflow's name for the database)"),
        ("schema", "extra 'schema'"),
    )
    secret_fields = frozenset({"password"})
    #: The port when the connection has none.
    default_port: ClassVar[int] = 5432

    def target(self) -> dict[str, Any]:
        f = self.fields
        target: dict[str, Any] = {
            "type": self.adapter,
            "host": f.attr("host"),
            "port": f.attr("port") or self.default_port,
            "user": f.attr("login"),
            "password": f.attr("password"),
            "dbname": f.attr("schema") or f.extra("dbname") or f.extra("database"),
            "schema": f.extra("schema"),
        }
        for name in _OPTIONAL_EXTRAS:
            if f.extra(name) is not None:
                target[name] = f.extra(name)
        return target


PROFILES = (PostgresProfile,)
