"""Snowflake destination of the data sync, through the Snowflake provider's ``SnowflakeHook``.

Rows are inserted with the connector's multi-row ``INSERT`` (``executemany``, pyformat binding,
about 512 KB per statement) into a stage table whose JSON columns are text; ``PARSE_JSON`` turns
them into ``VARIANT`` when the stage is applied. Snowflake commits DDL on its own, so:

* a table that keeps its columns is refreshed with ``DELETE`` + ``INSERT ... SELECT``, and every
  such refresh and every incremental merge run in one transaction (all tables change together);
* a new table is built under a work name and renamed into place (one atomic statement);
* a table whose columns changed is built under a work name and exchanged with ``ALTER TABLE ...
  SWAP WITH`` (atomic per table).

The connection's ``extra`` may carry ``host``, ``port`` and ``protocol`` (a proxy, or a local
Snowflake emulator); ``network_timeout`` (seconds, default 300) bounds every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.compat import snowflake_conn_params
from datacoves_airflow_provider.data_sync.destinations.base import SyncDestination, SyncState
from datacoves_airflow_provider.data_sync.destinations.column_types import numeric_type, varchar_type
from datacoves_airflow_provider.data_sync.table_specs import (
    ColumnKind,
    ColumnSpec,
    TableSpec,
    column_list,
    stage_table_name,
)
from datacoves_airflow_provider.optional_import import requires_extra

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Connection

__all__ = ["SnowflakeDestination"]

_SNOWFLAKE_TYPES = {
    ColumnKind.BOOLEAN: "BOOLEAN",
    ColumnKind.SMALLINT: "SMALLINT",
    ColumnKind.INTEGER: "INTEGER",
    ColumnKind.BIGINT: "BIGINT",
    ColumnKind.FLOAT: "FLOAT",
    ColumnKind.TIMESTAMP_TZ: "TIMESTAMP_TZ",
    ColumnKind.TIMESTAMP: "TIMESTAMP_NTZ",
    ColumnKind.DATE: "DATE",
    ColumnKind.TIME: "TIME",
    ColumnKind.INTERVAL: "VARCHAR",
    ColumnKind.JSON: "VARIANT",
    ColumnKind.BINARY: "BINARY",
    ColumnKind.UUID: "VARCHAR(36)",
}

#: Default seconds before a request to Snowflake gives up.
_NETWORK_TIMEOUT = 300


class SnowflakeDestination(SyncDestination):
    """A Snowflake database (the connection's ``database`` extra), reached through ``SnowflakeHook``.

    :param connection_id: the Airflow connection (type ``snowflake``).
    :param connection: an in-memory connection to use instead of looking one up (service connections).
    """

    label = "Snowflake"
    transactional_ddl = False
    #: Snowflake caps a statement's text; the connector sends executemany as one multi-row INSERT.
    insert_batch_bytes = 512 * 1024

    def __init__(self, connection_id: str, connection: Connection | None = None) -> None:
        super().__init__(connection_id, connection)
        self._in_transaction = False
        self._rebuilt: set[str] = set()
        self._deferred_drops: list[tuple[str, str]] = []

    def connect(self) -> Any:
        """Connect with the hook's parameters, plus ``protocol`` and ``network_timeout`` from extra."""
        with requires_extra("snowflake"):
            import snowflake.connector
            from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        self._in_transaction = False
        self._rebuilt.clear()
        self._deferred_drops.clear()

        hook = self.make_hook(SnowflakeHook, snowflake_conn_id=self.connection_id)
        extra = hook.get_connection(self.connection_id).extra_dejson
        params: dict[str, Any] = snowflake_conn_params(hook, extra)
        if extra.get("protocol"):
            params["protocol"] = extra["protocol"]
        params["network_timeout"] = int(extra.get("network_timeout", _NETWORK_TIMEOUT))
        params["paramstyle"] = "pyformat"
        return snowflake.connector.connect(**params)

    def commit(self) -> None:
        """Commit the final step's transaction, then drop the work tables it used."""
        if self._in_transaction:
            self.execute("COMMIT")
            self._in_transaction = False
        while self._deferred_drops:
            super().drop(*self._deferred_drops.pop())

    def begin_final_step(self) -> None:
        """Open the transaction the refreshes, merges and state run in (after any DDL)."""
        self.execute("BEGIN")
        self._in_transaction = True

    def column_type(self, column: ColumnSpec) -> str:
        """Snowflake's type for a column.

        :param column: the column.
        """
        if column.kind is ColumnKind.STRING:
            return varchar_type(column, "VARCHAR")
        if column.kind is ColumnKind.NUMERIC:
            return numeric_type(column, "NUMBER", "NUMBER(38, 10)")
        return _SNOWFLAKE_TYPES[column.kind]

    def long_text_type(self) -> str:
        """Snowflake's VARCHAR holds 16 MB."""
        return "VARCHAR"

    def work_column_type(self, column: ColumnSpec) -> str:
        """JSON columns are text in the work tables (``PARSE_JSON`` applies when they are applied).

        :param column: the column.
        """
        return "VARCHAR" if column.kind is ColumnKind.JSON else self.column_type(column)

    def select_columns(self, spec: TableSpec, source: str) -> str:
        """``SELECT`` the columns of ``spec`` from a work table, JSON text parsed into ``VARIANT``.

        :param spec: the source table.
        :param source: the qualified work table.
        """
        selected = ", ".join(
            f"PARSE_JSON({self.quote(c.name)})" if c.kind is ColumnKind.JSON else self.quote(c.name)
            for c in spec.columns
        )
        return f"SELECT {selected} FROM {source}"

    def _build_typed(self, schema: str, stage: str, spec: TableSpec) -> str:
        typed = stage_table_name(spec.name, "typed")
        definitions = ", ".join(f"{self.quote(c.name)} {self.column_type(c)}" for c in spec.columns)
        key = f", PRIMARY KEY ({column_list(spec.primary_key)})" if spec.primary_key else ""
        self.claim_work_table(schema, typed)
        self.execute(f"DROP TABLE IF EXISTS {self.table(schema, typed)}")
        self.execute(f"CREATE TABLE {self.table(schema, typed)} ({definitions}{key})")
        self.insert_from(schema, stage, typed, spec)
        return typed

    def prepare_replace(self, schema: str, stage: str, target: str, spec: TableSpec) -> None:
        """Before the transaction: put new tables and tables whose columns changed in place (DDL).

        :param schema: the destination schema.
        :param stage: the loaded stage table.
        :param target: the real table.
        :param spec: the source table.
        """
        existing = self.target_columns(schema, target)
        if tuple(existing) == spec.column_names:
            return  # same columns (identifiers are quoted, so case is kept): DML inside the transaction
        typed = self._build_typed(schema, stage, spec)
        if existing:
            self.execute(f"ALTER TABLE {self.table(schema, target)} SWAP WITH {self.table(schema, typed)}")
            self.drop(schema, typed)
        else:
            # the table is the sync's from the moment it exists: its state row comes first (this
            # DDL commits on its own, and the sync may die before its final transaction)
            self.write_state(schema, SyncState(target, None, 0, ""))
            self.execute(f"ALTER TABLE {self.table(schema, typed)} RENAME TO {self.table(schema, target)}")
            self.release_work_table(schema, typed)
        self.drop(schema, stage)
        self._rebuilt.add(target)

    def replace(self, schema: str, stage: str, target: str, spec: TableSpec) -> None:
        """Inside the transaction: replace the rows of a table that kept its columns.

        :param schema: the destination schema.
        :param stage: the loaded stage table.
        :param target: the real table.
        :param spec: the source table.
        """
        if target in self._rebuilt:
            return
        self.execute(f"DELETE FROM {self.table(schema, target)}")
        self.insert_from(schema, stage, target, spec)
        self.drop(schema, stage)

    def drop(self, schema: str, name: str) -> None:
        """Drop a work table; inside the transaction the drop waits for the commit (Snowflake DDL
        would commit the transaction early).

        :param schema: the destination schema.
        :param name: the table.
        """
        if self._in_transaction:
            self._deferred_drops.append((schema, name))
        else:
            super().drop(schema, name)
