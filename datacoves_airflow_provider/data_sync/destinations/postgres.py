"""PostgreSQL and Redshift destinations of the data sync.

PostgreSQL loads with ``COPY ... FROM STDIN`` straight from the source's ``COPY ... TO STDOUT``
(through the postgres provider's hook). Redshift speaks the same protocol but has no
``COPY FROM STDIN``: it loads with multi-row ``INSERT`` statements over a psycopg2 connection made
from the amazon provider's Redshift connection (``RedshiftSQLHook``, IAM tokens included), and
uses Redshift's types (``SUPER`` for JSON, ``VARBYTE`` for binary, ``VARCHAR(65535)`` for text).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from datacoves_airflow_provider.data_sync.destinations.base import SyncDestination
from datacoves_airflow_provider.data_sync.destinations.column_types import numeric_type, varchar_type
from datacoves_airflow_provider.data_sync.postgres_copy import CopyInSink, copy_in
from datacoves_airflow_provider.data_sync.table_specs import ColumnKind, ColumnSpec, TableSpec, column_list
from datacoves_airflow_provider.optional_import import requires_extra

__all__ = ["PostgresDestination", "RedshiftDestination"]

_POSTGRES_TYPES = {
    ColumnKind.BOOLEAN: "BOOLEAN",
    ColumnKind.SMALLINT: "SMALLINT",
    ColumnKind.INTEGER: "INTEGER",
    ColumnKind.BIGINT: "BIGINT",
    ColumnKind.FLOAT: "DOUBLE PRECISION",
    ColumnKind.TIMESTAMP_TZ: "TIMESTAMP WITH TIME ZONE",
    ColumnKind.TIMESTAMP: "TIMESTAMP WITHOUT TIME ZONE",
    ColumnKind.DATE: "DATE",
    ColumnKind.TIME: "TIME",
    ColumnKind.INTERVAL: "INTERVAL",
    ColumnKind.BINARY: "BYTEA",
    ColumnKind.UUID: "UUID",
}


class PostgresDestination(SyncDestination):
    """A PostgreSQL database, reached through the postgres provider's ``PostgresHook``.

    :param connection_id: the Airflow connection (type ``postgres``).
    :param connection: an in-memory connection to use instead of looking one up.
    """

    label = "PostgreSQL"
    accepts_csv = True
    accepts_binary_copy = True

    def connect(self) -> Any:
        """Open the connection through ``PostgresHook`` (psycopg 3 or psycopg2, as the provider chooses)."""
        with requires_extra("postgres"):
            from airflow.providers.postgres.hooks.postgres import PostgresHook

        hook = self.make_hook(PostgresHook, postgres_conn_id=self.connection_id)
        connection: Any = hook.get_conn()
        connection.autocommit = False
        return connection

    def ensure_schema(self, schema: str) -> None:
        """Take the schema's sync lock, then create the schema and the state table if missing.

        The lock (a transaction-level advisory lock, released when the sync commits or rolls back)
        makes two syncs into one schema take turns: without it, two first syncs into a new schema
        race on ``CREATE SCHEMA IF NOT EXISTS`` and one fails with a duplicate-key error.

        :param schema: the destination schema.
        """
        key = int.from_bytes(
            hashlib.sha256(f"datacoves-data-sync:{schema}".encode()).digest()[:8], "big", signed=True
        )
        self.query("SELECT pg_advisory_xact_lock(%s)", [key])
        super().ensure_schema(schema)

    def target_columns(self, schema: str, table: str) -> list[str]:
        """The columns a destination table (or view) has, in order (empty if it does not exist).

        Read from ``pg_catalog``: one index lookup, where ``information_schema.columns`` (a view
        that checks privileges on every column of the database) took several milliseconds a call.

        :param schema: the destination schema.
        :param table: the table.
        """
        rows = self.query(
            "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
            "ON c.oid = a.attrelid WHERE a.attrelid = to_regclass(%s) "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            [self.table(schema, table)],
        )
        return [row[0] for row in rows]

    def column_type(self, column: ColumnSpec) -> str:
        """PostgreSQL's type for a column (JSON stays json or jsonb as at the source).

        :param column: the column.
        """
        if column.kind is ColumnKind.JSON:
            return "JSONB" if column.source_type.upper() == "JSONB" else "JSON"
        if column.kind is ColumnKind.STRING:
            return varchar_type(column, "TEXT")
        if column.kind is ColumnKind.NUMERIC:
            return numeric_type(column, "NUMERIC", "NUMERIC")
        return _POSTGRES_TYPES[column.kind]

    @contextlib.contextmanager
    def copy_sink(
        self, schema: str, name: str, spec: TableSpec, columns: Sequence[str], binary: bool
    ) -> Iterator[CopyInSink]:
        """``COPY ... FROM STDIN`` what is written into the sink (the source's COPY output).

        :param schema: the destination schema.
        :param name: the work table.
        :param spec: the source table.
        :param columns: the columns, in the data's order.
        :param binary: the data is in PostgreSQL's binary COPY format.
        """
        copy_format = "binary" if binary else "csv"
        sql = (
            f"COPY {self.table(schema, name)} ({column_list(columns)}) FROM STDIN WITH (FORMAT {copy_format})"
        )
        try:
            with copy_in(self._connection, sql) as sink:
                yield sink
        except Exception as error:
            if type(error).__module__.startswith(("psycopg", "psycopg2")):
                raise self.translate_error(error, sql) from error
            raise


_REDSHIFT_TYPES = {
    **_POSTGRES_TYPES,
    ColumnKind.TIMESTAMP_TZ: "TIMESTAMPTZ",
    ColumnKind.TIMESTAMP: "TIMESTAMP",
    ColumnKind.INTERVAL: "VARCHAR(64)",
    ColumnKind.BINARY: "VARBYTE",
    ColumnKind.UUID: "VARCHAR(36)",
    ColumnKind.JSON: "SUPER",
}

#: Redshift's longest VARCHAR, in bytes.
_REDSHIFT_MAX_VARCHAR = 65535
#: Rows per multi-row INSERT (Redshift statements are capped at 16 MB).
_REDSHIFT_ROWS_PER_INSERT = 500


class RedshiftDestination(SyncDestination):
    """An Amazon Redshift database, reached with the amazon provider's connection parameters.

    :param connection_id: the Airflow connection (type ``redshift``; ``{"iam": true}`` in extra for
        IAM authentication through the amazon provider).
    :param connection: an in-memory connection to use instead of looking one up (service connections).
    """

    label = "Redshift"

    def connect(self) -> Any:
        """Connect with psycopg2 using ``RedshiftSQLHook``'s parameters (default port 5439)."""
        with requires_extra("redshift"):
            import psycopg2
        with requires_extra("redshift"):
            from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        hook = self.make_hook(RedshiftSQLHook, redshift_conn_id=self.connection_id)
        params = dict(hook._get_conn_params())
        extra = hook.conn.extra_dejson
        connection = psycopg2.connect(
            host=params.get("host"),
            port=int(params.get("port") or 5439),
            user=params.get("user"),
            password=params.get("password"),
            dbname=params.get("database"),
            sslmode=extra.get("sslmode", "prefer"),
            connect_timeout=int(extra.get("connect_timeout", 30)),
        )
        connection.autocommit = False
        return connection

    def column_type(self, column: ColumnSpec) -> str:
        """Redshift's type for a column (string lengths in bytes: up to 4 per character).

        :param column: the column.
        """
        if column.kind is ColumnKind.STRING:
            length = min(column.length * 4, _REDSHIFT_MAX_VARCHAR) if column.length else _REDSHIFT_MAX_VARCHAR
            return f"VARCHAR({length})"
        if column.kind is ColumnKind.NUMERIC:
            return numeric_type(column, "NUMERIC", "NUMERIC(38, 10)")
        return _REDSHIFT_TYPES[column.kind]

    def long_text_type(self) -> str:
        """Redshift's TEXT is VARCHAR(256); the state table needs the longest VARCHAR."""
        return f"VARCHAR({_REDSHIFT_MAX_VARCHAR})"

    def column_value_sql(self, column: ColumnSpec) -> str:
        """``JSON_PARSE(%s)`` for SUPER, ``FROM_HEX(%s)`` for VARBYTE, ``%s`` otherwise.

        :param column: the column.
        """
        if column.kind is ColumnKind.JSON:
            return "JSON_PARSE(%s)"
        if column.kind is ColumnKind.BINARY:
            return "FROM_HEX(%s)"
        return "%s"

    def insert_batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert with multi-row ``INSERT ... VALUES (...), (...)`` (psycopg2's ``execute_values``).

        :param sql: the single-row INSERT statement built by :meth:`load_rows`.
        :param rows: the rows.
        """
        with requires_extra("redshift"):
            from psycopg2.extras import execute_values

        head, _, template = sql.partition(" VALUES ")
        rows = [tuple(v.hex() if isinstance(v, bytes) else v for v in row) for row in rows]
        with self._connection.cursor() as cursor:
            try:
                execute_values(
                    cursor, head + " VALUES %s", rows, template=template, page_size=_REDSHIFT_ROWS_PER_INSERT
                )
            except Exception as error:
                raise self.translate_error(error, head) from error
