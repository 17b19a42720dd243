"""DuckDB destination of the data sync: the embedded warehouse the README demo uses.

The connection names the database file: ``{"conn_type": "duckdb", "host": "/path/to/file.duckdb"}``
(or ``extra.path``). CSV from the source's ``COPY`` is spooled to a temporary file (deleted
afterwards) and loaded with DuckDB's own CSV reader, with the column types given explicitly; the
whole sync is one DuckDB transaction.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.data_sync.destinations.base import SyncDestination
from datacoves_airflow_provider.data_sync.table_specs import ColumnKind, ColumnSpec, TableSpec, column_list
from datacoves_airflow_provider.exceptions import InvalidArgumentError
from datacoves_airflow_provider.optional_import import requires_extra

__all__ = ["DuckDBDestination", "duckdb_path"]

_DUCKDB_TYPES = {
    ColumnKind.BOOLEAN: "BOOLEAN",
    ColumnKind.SMALLINT: "SMALLINT",
    ColumnKind.INTEGER: "INTEGER",
    ColumnKind.BIGINT: "BIGINT",
    ColumnKind.FLOAT: "DOUBLE",
    ColumnKind.STRING: "VARCHAR",
    ColumnKind.TIMESTAMP_TZ: "TIMESTAMPTZ",
    ColumnKind.TIMESTAMP: "TIMESTAMP",
    ColumnKind.DATE: "DATE",
    ColumnKind.TIME: "TIME",
    ColumnKind.INTERVAL: "INTERVAL",
    ColumnKind.JSON: "JSON",
    ColumnKind.BINARY: "BLOB",
    ColumnKind.UUID: "UUID",
}

#: DuckDB's memory budget for the load; DuckDB spills to disk beyond it.
_MEMORY_LIMIT = "64MB"
_THREADS = 1


def duckdb_path(connection: Any) -> str:
    """The database file an Airflow connection names (``extra.path``, else ``host``, else ``schema``).

    :param connection: the Airflow connection.
    """
    path = connection.extra_dejson.get("path") or connection.host or connection.schema
    if not path:
        raise InvalidArgumentError(
            f"Connection {connection.conn_id!r} names no DuckDB file: set its host (or extra "
            '{"path": ...}) to the database file, e.g. AIRFLOW_CONN_X=\'{"conn_type": "duckdb", '
            '"host": "/data/airflow.duckdb"}\''
        )
    return str(path)


class DuckDBDestination(SyncDestination):
    """A DuckDB database file.

    :param connection_id: the Airflow connection naming the file.
    :param path: the file itself, instead of a connection (the benchmark, tests).
    """

    label = "DuckDB"
    accepts_csv = True
    declares_primary_key = False
    placeholder = "?"

    def __init__(self, connection_id: str, path: str | None = None) -> None:
        super().__init__(connection_id)
        self.path = path
        self._spool: tempfile.TemporaryDirectory[str] | None = None

    def connect(self) -> Any:
        """Open the file (created if missing) and start the sync's transaction."""
        with requires_extra("duckdb"):
            import duckdb

        path = self.path
        if path is None:
            from datacoves_airflow_provider.compat import BaseHook

            path = duckdb_path(BaseHook.get_connection(self.connection_id))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(path)
        connection.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
        connection.execute("SET preserve_insertion_order = false")
        connection.execute(f"SET threads = {_THREADS}")
        connection.execute("SET TimeZone = 'UTC'")
        connection.begin()
        return connection

    @contextlib.contextmanager
    def session(self) -> Any:
        """Connect for the sync; the spool folder for CSV goes away with it."""
        self._spool = tempfile.TemporaryDirectory(prefix="datacoves-sync-")
        try:
            with super().session() as destination:
                yield destination
        finally:
            self._spool.cleanup()
            self._spool = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement on the sync's connection (DuckDB cursors are separate connections).

        :param sql: the statement.
        :param params: values for its placeholders.
        """
        try:
            result = (
                self._connection.execute(sql, params) if params is not None else self._connection.execute(sql)
            )
            row = (
                result.fetchone() if sql.lstrip().upper().startswith(("DELETE", "INSERT", "UPDATE")) else None
            )
        except Exception as error:
            raise self.translate_error(error, sql) from error
        return int(row[0]) if row else -1

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query on the sync's connection.

        :param sql: the query.
        :param params: values for its placeholders.
        """
        try:
            result = (
                self._connection.execute(sql, params) if params is not None else self._connection.execute(sql)
            )
            return [tuple(row) for row in result.fetchall()]
        except Exception as error:
            raise self.translate_error(error, sql) from error

    def insert_batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert one batch with ``executemany`` on the sync's connection.

        :param sql: the single-row INSERT statement.
        :param rows: the rows.
        """
        try:
            self._connection.executemany(sql, rows)
        except Exception as error:
            raise self.translate_error(error, sql) from error

    def column_type(self, column: ColumnSpec) -> str:
        """DuckDB's type for a column.

        :param column: the column.
        """
        if column.kind is ColumnKind.NUMERIC:
            if column.precision and column.precision <= 38:
                return f"DECIMAL({column.precision}, {column.scale or 0})"
            return "DOUBLE"
        return _DUCKDB_TYPES[column.kind]

    @contextlib.contextmanager
    def copy_sink(
        self, schema: str, name: str, spec: TableSpec, columns: Sequence[str], binary: bool
    ) -> Iterator[_ChunkedSpool]:
        """Spool the CSV written into the sink to temporary files of about 32 MB and load each with
        ``read_csv`` and explicit types as it fills (memory and disk stay bounded).

        The source hands over whole rows, so a file never ends inside a row. PostgreSQL writes
        binary as ``\\x`` + hex, which is read as text and decoded with ``unhex``.

        :param schema: the destination schema.
        :param name: the work table.
        :param spec: the source table.
        :param columns: the columns, in the CSV's order.
        :param binary: must be False (DuckDB reads CSV).
        """
        assert self._spool is not None and not binary, "load_copy runs inside session(), with CSV"
        read_types = {
            c: "VARCHAR" if spec.column(c).kind is ColumnKind.BINARY else self.column_type(spec.column(c))
            for c in columns
        }
        selected = ", ".join(
            f"unhex(substr({self.quote(c)}, 3))"
            if spec.column(c).kind is ColumnKind.BINARY
            else self.quote(c)
            for c in columns
        )
        type_map = "{" + ", ".join(f"'{c}': '{t}'" for c, t in read_types.items()) + "}"
        path = Path(self._spool.name) / f"{name}.csv"
        insert = (
            f"INSERT INTO {self.table(schema, name)} ({column_list(columns)}) SELECT {selected} FROM "
            f"read_csv('{path}', columns = {type_map}, header = false, auto_detect = false, "
            "delim = ',', quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false, "
            "max_line_size = 1073741824)"
        )
        spool = _ChunkedSpool(path, lambda: self.execute(insert))
        try:
            yield spool
            spool.load()
        finally:
            spool.close()


#: How much CSV is spooled before it is loaded (bounds the load's memory and the disk it uses).
_SPOOL_CHUNK_BYTES = 16 << 20


class _ChunkedSpool:
    """A sink that writes CSV to a file and loads the file whenever it reaches the chunk size."""

    def __init__(self, path: Path, load_file: Callable[[], int]) -> None:
        self.path = path
        self.load_file = load_file
        self.file = path.open("wb")
        self.rowcount = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        if self.file.tell() >= _SPOOL_CHUNK_BYTES:
            self.load()

    def load(self) -> None:
        if self.file.tell():
            self.file.close()
            self.rowcount += max(self.load_file(), 0)
            self.file = self.path.open("wb")

    def close(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)
