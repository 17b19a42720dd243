"""Reading Airflow's own metadata database: the source of the data sync.

The database is reached with SQLAlchemy through Airflow's configured connection
(``[database] sql_alchemy_conn``). Every table of one sync is read inside a single read-only
``REPEATABLE READ`` transaction, so the copy is one consistent snapshot even while the scheduler
writes. On PostgreSQL, rows leave the server as ``COPY ... TO STDOUT`` CSV, streamed chunk by chunk
(memory does not grow with table size); other databases stream rows in batches with a server-side
cursor.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.data_sync.postgres_copy import ByteSink, copy_out
from datacoves_airflow_provider.data_sync.table_specs import (
    INCREMENTAL_CURSORS,
    REDACTED_COLUMNS,
    ColumnKind,
    ColumnSpec,
    TableSpec,
    column_list,
    quote_identifier,
)
from datacoves_airflow_provider.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "ARCHIVE_TABLE_PREFIX",
    "AirflowMetadataDatabase",
    "MetadataSnapshot",
    "column_kind",
    "connection_database_url",
    "metadata_database_url",
]

#: ``airflow db clean`` copies deleted rows to ``_airflow_deleted__<table>__<timestamp>`` tables;
#: they are transient and never part of "every table".
ARCHIVE_TABLE_PREFIX = "_airflow_deleted__"

#: PostgreSQL types (SQLAlchemy class names) whose binary COPY format is the one the PostgreSQL
#: destination's mapped column type reads (enums travel as text, whose binary form is the label).
_PG_BINARY_SAFE = frozenset(
    {
        "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE_PRECISION", "NUMERIC", "VARCHAR", "TEXT",
        "CHAR", "ENUM", "TIMESTAMP", "DATE", "INTERVAL", "JSON", "JSONB", "BYTEA", "UUID",
    }
)  # fmt: skip

#: Rows per batch when streaming from a database without COPY.
ROW_BATCH_SIZE = 10_000


#: The connection the sync reads on Airflow 3 when task processes are not given the database URL
#: (Airflow's traditional id for its own database).
FALLBACK_SOURCE_CONNECTION = "airflow_db"

#: SQLAlchemy driver names for the connection types a metadata database can have.
_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql",
    "sqlite": "sqlite",
}


def metadata_database_url() -> str:
    """Airflow's configured metadata database URL (``[database] sql_alchemy_conn``).

    Airflow 3 does not give task processes that setting (see
    :func:`datacoves_airflow_provider.compat.metadata_database_url`); when the deployment has not put
    it where a task can read it, the connection ``airflow_db`` is used if it exists.
    """
    from datacoves_airflow_provider.compat import AirflowNotFoundException
    from datacoves_airflow_provider.compat import metadata_database_url as configured_url

    url = configured_url()
    if url is None:  # an Airflow 3 task process
        try:
            return connection_database_url(FALLBACK_SOURCE_CONNECTION)
        except AirflowNotFoundException:
            raise InvalidArgumentError(
                "This worker's tasks cannot see Airflow's metadata database URL (Airflow 3 hides "
                "[database] sql_alchemy_conn from task code): create a connection to the database (a "
                f"read-only user is enough) named {FALLBACK_SOURCE_CONNECTION!r}, or pass "
                "source_connection_id='<its id>', or give the workers AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"
            ) from None
    if not url:
        raise InvalidArgumentError(
            "Airflow's metadata database is not configured on this worker: set [database] "
            "sql_alchemy_conn (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN) so the data sync can read it, or "
            "pass source_connection_id='<a connection to it>'"
        )
    return url


def connection_database_url(connection_id: str) -> str:
    """The SQLAlchemy URL of an Airflow connection to a metadata database (PostgreSQL, MySQL, SQLite).

    :param connection_id: the Airflow connection.
    """
    import sqlalchemy as sa

    from datacoves_airflow_provider.compat import BaseHook

    conn = BaseHook.get_connection(connection_id)
    conn_type = (conn.conn_type or "").lower()
    driver = _DRIVERS.get(conn_type)
    if driver is None:
        raise InvalidArgumentError(
            f"Connection {connection_id!r} is of type {conn.conn_type!r}; the Airflow database it names "
            "must be a postgres, mysql or sqlite connection"
        )
    if driver == "sqlite":
        return str(sa.engine.URL.create("sqlite", database=conn.host or conn.schema))
    url = sa.engine.URL.create(
        driver,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    )
    return url.render_as_string(hide_password=False)


def column_kind(sa_type: Any) -> ColumnKind:
    """The portable kind of a reflected SQLAlchemy column type.

    :param sa_type: the type instance from ``Inspector.get_columns``.
    """
    import sqlalchemy as sa

    name = type(sa_type).__name__.upper()
    if name == "UUID" or (hasattr(sa, "Uuid") and isinstance(sa_type, sa.Uuid)):
        return ColumnKind.UUID
    if isinstance(sa_type, sa.JSON) or name in ("JSON", "JSONB"):
        return ColumnKind.JSON
    if isinstance(sa_type, sa.Enum):
        return ColumnKind.STRING
    if isinstance(sa_type, sa.Boolean):
        return ColumnKind.BOOLEAN
    if isinstance(sa_type, sa.SmallInteger):
        return ColumnKind.SMALLINT
    if isinstance(sa_type, sa.BigInteger):
        return ColumnKind.BIGINT
    if isinstance(sa_type, sa.Integer):
        return ColumnKind.INTEGER
    if isinstance(sa_type, sa.Float) or name in ("DOUBLE_PRECISION", "REAL", "DOUBLE"):
        return ColumnKind.FLOAT
    if isinstance(sa_type, sa.Numeric):
        return ColumnKind.NUMERIC
    if isinstance(sa_type, sa.DateTime):
        return ColumnKind.TIMESTAMP_TZ if getattr(sa_type, "timezone", False) else ColumnKind.TIMESTAMP
    if isinstance(sa_type, sa.Date):
        return ColumnKind.DATE
    if isinstance(sa_type, sa.Time):
        return ColumnKind.TIME
    if isinstance(sa_type, sa.Interval) or name == "INTERVAL":
        return ColumnKind.INTERVAL
    if isinstance(sa_type, sa.LargeBinary) or name in ("BYTEA", "BLOB", "LONGBLOB", "VARBINARY"):
        return ColumnKind.BINARY
    # strings, arrays and anything exotic travel as text
    return ColumnKind.STRING


class MetadataSnapshot:
    """One consistent, read-only view of the metadata database for the length of a sync.

    :param connection: an SQLAlchemy connection inside a read-only repeatable-read transaction.
    """

    def __init__(self, connection: Connection) -> None:
        import sqlalchemy as sa

        self.connection = connection
        self.inspector = sa.inspect(connection)
        self.dialect = connection.dialect.name
        self._table_names: set[str] | None = None

    @property
    def supports_copy(self) -> bool:
        """Whether rows can leave the server as ``COPY ... TO STDOUT`` CSV (PostgreSQL)."""
        return self.dialect == "postgresql"

    def table_names(self) -> set[str]:
        """Every table of the metadata schema (including ``airflow db clean`` archives)."""
        if self._table_names is None:
            self._table_names = set(self.inspector.get_table_names())
        return self._table_names

    def describe(self, table: str) -> TableSpec:
        """Reflect ``table`` into a :class:`TableSpec`, with its incremental cursor if it has one.

        :param table: the table name.
        """
        columns = tuple(
            ColumnSpec(
                name=column["name"],
                kind=column_kind(column["type"]),
                length=getattr(column["type"], "length", None),
                precision=getattr(column["type"], "precision", None),
                scale=getattr(column["type"], "scale", None),
                nullable=bool(column.get("nullable", True)),
                source_type=str(column["type"]),
                pg_binary_safe=self.dialect == "postgresql"
                and type(column["type"]).__name__.upper() in _PG_BINARY_SAFE,
            )
            for column in self.inspector.get_columns(table)
        )
        names = {column.name for column in columns}
        primary_key = self.primary_key(table)
        cursor = tuple(c for c in INCREMENTAL_CURSORS.get(table, ()) if c in names)
        redacted = tuple(c for c in REDACTED_COLUMNS.get(table, ()) if c in names)
        return TableSpec(
            name=table, columns=columns, primary_key=primary_key, cursor=cursor, redacted=redacted
        )

    def primary_key(self, table: str) -> tuple[str, ...]:
        """The primary-key columns of ``table``, in the key's order (empty if it has none).

        On PostgreSQL one catalog query (SQLAlchemy's reflection query for constraints took about
        10 ms of every incremental run); elsewhere SQLAlchemy's reflection.

        :param table: the table name.
        """
        if self.dialect != "postgresql":
            return tuple(self.inspector.get_pk_constraint(table).get("constrained_columns") or ())
        rows = self.connection.exec_driver_sql(
            "SELECT a.attname FROM pg_catalog.pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, position) "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.contype = 'p' AND c.conrelid = "
            "to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%(table)s)) "
            "ORDER BY k.position",
            {"table": table},
        )
        return tuple(row[0] for row in rows)

    def _quote(self, name: str) -> str:
        return self.connection.dialect.identifier_preparer.quote(name)

    def _select(
        self,
        spec: TableSpec,
        columns: Sequence[str],
        changed_since: datetime.datetime | None,
        json_as_text: bool = False,
    ) -> str:
        selected = ", ".join(self._select_item(spec, c, json_as_text) for c in columns)
        sql = f"SELECT {selected} FROM {self._quote(spec.name)}"
        if changed_since is not None:
            cursor = cursor_expression(spec, self._quote)
            sql += f" WHERE {cursor} >= {self._timestamp_literal(changed_since)} OR {cursor} IS NULL"
        return sql

    def _select_item(self, spec: TableSpec, column: str, json_as_text: bool) -> str:
        if column in spec.redacted:
            return f"NULL AS {self._quote(column)}"
        if json_as_text and spec.column(column).kind is ColumnKind.JSON:
            return f"CAST({self._quote(column)} AS TEXT)"
        return self._quote(column)

    def _timestamp_literal(self, value: datetime.datetime) -> str:
        text = value.astimezone(datetime.timezone.utc).isoformat()
        return f"CAST('{text}' AS TIMESTAMP WITH TIME ZONE)" if self.dialect == "postgresql" else f"'{text}'"

    def copy_out(
        self,
        spec: TableSpec,
        sink: ByteSink,
        columns: Sequence[str] | None = None,
        changed_since: datetime.datetime | None = None,
        binary: bool = False,
    ) -> int:
        """Stream a table as PostgreSQL CSV (NULL unquoted-empty, UTC timestamps) or binary COPY data
        into ``sink``.

        :param spec: the table.
        :param sink: receives the data.
        :param columns: the columns to copy (default: all, in order).
        :param changed_since: copy only rows whose cursor is at or after this instant (or NULL).
        :param binary: PostgreSQL's binary COPY format instead of CSV.
        :returns: the number of bytes copied.
        """
        columns = tuple(columns or spec.column_names)
        if changed_since is None and columns == spec.column_names and not spec.redacted:
            source = f"{self._quote(spec.name)} ({column_list(columns)})"
        else:
            source = f"({self._select(spec, columns, changed_since)})"
        driver_connection = self.connection.connection.driver_connection
        copy_format = "binary" if binary else "csv"
        return copy_out(driver_connection, f"COPY {source} TO STDOUT WITH (FORMAT {copy_format})", sink)

    def iter_rows(
        self,
        spec: TableSpec,
        columns: Sequence[str] | None = None,
        changed_since: datetime.datetime | None = None,
        batch_size: int = ROW_BATCH_SIZE,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Stream a table's rows in batches, through a server-side cursor where the driver has one.

        Values are what the database driver returns (JSON may arrive decoded, binary as
        ``memoryview``); destinations normalise them per column kind.

        :param spec: the table.
        :param columns: the columns to read (default: all, in order).
        :param changed_since: read only rows whose cursor is at or after this instant (or NULL).
        :param batch_size: rows per batch.
        """
        columns = tuple(columns or spec.column_names)
        # JSON as its text: drivers decode it, and a decoded JSON string is not JSON any more
        sql = self._select(spec, columns, changed_since, json_as_text=self.dialect == "postgresql")
        result = self.connection.execution_options(stream_results=True).exec_driver_sql(sql)
        with contextlib.closing(result):
            while True:
                batch = result.fetchmany(batch_size)
                if not batch:
                    return
                yield [tuple(row) for row in batch]

    def count(self, table: str) -> int:
        """The number of rows in ``table`` in this snapshot.

        :param table: the table name.
        """
        return int(self.connection.exec_driver_sql(f"SELECT count(*) FROM {self._quote(table)}").scalar_one())


def cursor_expression(spec: TableSpec, quote: Any = quote_identifier) -> str:
    """The SQL for a table's update cursor: one column, or the COALESCE of several.

    :param spec: the table.
    :param quote: the dialect's identifier quoting function.
    """
    if len(spec.cursor) == 1:
        return str(quote(spec.cursor[0]))
    return "COALESCE(" + ", ".join(quote(c) for c in spec.cursor) + ")"


class AirflowMetadataDatabase:
    """Airflow's metadata database, as the data sync reads it.

    :param url: the SQLAlchemy URL; :meth:`from_airflow_config` uses Airflow's own.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    def from_airflow_config(cls) -> AirflowMetadataDatabase:
        """The database this Airflow is configured with (``[database] sql_alchemy_conn``)."""
        return cls(metadata_database_url())

    @classmethod
    def from_connection(cls, connection_id: str) -> AirflowMetadataDatabase:
        """The database an Airflow connection names.

        :param connection_id: a postgres, mysql or sqlite connection to Airflow's database.
        """
        return cls(connection_database_url(connection_id))

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[MetadataSnapshot]:
        """Open one read-only, repeatable-read transaction; yield a :class:`MetadataSnapshot` of it."""
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        engine = sa.create_engine(self.url, poolclass=NullPool)
        try:
            isolation = "REPEATABLE READ" if engine.dialect.name in ("postgresql", "mysql") else None
            connection = engine.connect()
            if isolation:
                connection = connection.execution_options(isolation_level=isolation)
            with connection, connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                    connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                yield MetadataSnapshot(connection)
        finally:
            engine.dispose()
