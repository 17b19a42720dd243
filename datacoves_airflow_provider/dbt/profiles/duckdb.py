"""DuckDB connections: a database file (the default), or MotherDuck."""

from __future__ import annotations

from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfile


class DuckDBProfile(DbtProfile):
    """A DuckDB database file (Host; in memory when empty)."""

    adapter = "duckdb"
    connection_types = ("duckdb",)
    required = (("path", "Host (the database file)"),)
    secret_fields = frozenset({"motherduck_token"})

    def target(self) -> dict[str, Any]:
        target: dict[str, Any] = {"type": "duckdb", "schema": self.fields.extra("schema")}
        self.credentials(target)
        return target

    def credentials(self, target: dict[str, Any]) -> None:
        target["path"] = self.fields.attr("host") or ":memory:"


class MotherDuckProfile(DuckDBProfile):
    """MotherDuck: the token is the Password, the database the Schema field."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return bool(fields.attr("password"))

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        if f.attr("host"):
            raise f.error("has both a file path (host) and a MotherDuck token (password); keep one")
        target.update(path=f"md:{f.attr('schema') or ''}", motherduck_token=f.attr("password"))


#: Asked in this order whether they read a connection; the adapter's own class last.
PROFILES = (MotherDuckProfile, DuckDBProfile)
