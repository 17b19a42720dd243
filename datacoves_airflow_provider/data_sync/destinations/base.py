"""The warehouse side of the data sync: what every destination does, in portable SQL.

A destination loads each table into a *stage* table first and only touches the real table in the
sync's last step: a full refresh swaps the stage in (drop + rename), an incremental sync merges it
(delete the changed keys, insert the stage). Where the warehouse has transactional DDL
(PostgreSQL, Redshift, DuckDB) the whole sync is one transaction, so a sync that dies at any point
leaves every table as it was; on Snowflake, whose DDL commits on its own, each table's swap is
atomic on its own and the merges share one transaction.

Each concrete destination supplies the connection, the type mapping and the bulk-load path.
:class:`SyncDestination` is built in layers, one module each: the session with the warehouse
(:mod:`.session`), the state table and work tables (:mod:`.state`), the final step (:mod:`.final_step`),
and here the loading and reading of the work tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from datacoves_airflow_provider.data_sync.destinations.errors import DestinationError, UnmanagedTableError
from datacoves_airflow_provider.data_sync.destinations.final_step import FinalStep
from datacoves_airflow_provider.data_sync.destinations.state import STATE_TABLE, WORK_TABLE_MARK, SyncState
from datacoves_airflow_provider.data_sync.destinations.values import (
    approximate_size,
    iso_utc,
    normalise_value,
)
from datacoves_airflow_provider.data_sync.table_specs import TableSpec, column_list

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from datacoves_airflow_provider.data_sync.postgres_copy import ByteSink

__all__ = [
    "STATE_TABLE",
    "WORK_TABLE_MARK",
    "CopySink",
    "DestinationError",
    "SyncDestination",
    "SyncState",
    "UnmanagedTableError",
    "normalise_value",
]


class CopySink(Protocol):
    """Where :meth:`SyncDestination.load_copy` has the COPY data written; ``rowcount`` is the rows
    loaded once the load has ended."""

    rowcount: int

    def write(self, data: bytes) -> Any:
        """Take the next chunk.

        :param data: the bytes.
        """


class SyncDestination(FinalStep):
    """A warehouse the sync writes to.

    :param connection_id: the Airflow connection of the destination (named in every error).
    :param connection: an in-memory Airflow connection to use instead of looking ``connection_id``
        up (a service connection).
    """

    #: Whether :meth:`load_copy` takes PostgreSQL CSV from the source's COPY.
    accepts_csv: bool = False
    #: Whether :meth:`load_copy` also takes PostgreSQL's binary COPY format.
    accepts_binary_copy: bool = False
    #: Row data per :meth:`insert_batch` call when loading rows (statement-size limits).
    insert_batch_bytes: int = 4 << 20

    # -- loading -------------------------------------------------------------------------------

    def create_table(
        self, schema: str, name: str, spec: TableSpec, columns: Sequence[str] | None = None
    ) -> None:
        """(Re)create an empty work table for ``spec`` (only ``columns`` if given), without keys.

        :param schema: the destination schema.
        :param name: the table to create.
        :param spec: the source table it mirrors.
        :param columns: a subset of the columns (e.g. only the primary key).
        """
        chosen = [spec.column(c) for c in columns] if columns else list(spec.columns)
        definitions = ", ".join(f"{self.quote(c.name)} {self.work_column_type(c)}" for c in chosen)
        self.claim_work_table(schema, name)
        self.execute(f"DROP TABLE IF EXISTS {self.table(schema, name)}")
        self.execute(f"CREATE TABLE {self.table(schema, name)} ({definitions})")

    def load_copy(
        self,
        schema: str,
        name: str,
        spec: TableSpec,
        columns: Sequence[str],
        produce: Callable[[ByteSink], int],
        binary: bool = False,
    ) -> tuple[int, int]:
        """Bulk-load the PostgreSQL COPY data (CSV, or binary) that ``produce`` writes into a sink;
        return (rows, bytes) loaded.

        :param schema: the destination schema.
        :param name: the work table.
        :param spec: the source table.
        :param columns: the columns, in the data's order.
        :param produce: writes the data into the sink it is given; returns the byte count.
        :param binary: the data is in PostgreSQL's binary COPY format.
        """
        with self.copy_sink(schema, name, spec, columns, binary) as sink:
            size = produce(sink)
        return sink.rowcount, size

    def copy_sink(
        self, schema: str, name: str, spec: TableSpec, columns: Sequence[str], binary: bool
    ) -> AbstractContextManager[CopySink]:
        """The sink :meth:`load_copy` writes into: leaving the block ends the load (an exception
        aborts it); a destination that takes COPY data (:attr:`accepts_csv`) supplies it.

        :param schema: the destination schema.
        :param name: the work table.
        :param spec: the source table.
        :param columns: the columns, in the data's order.
        :param binary: the data is in PostgreSQL's binary COPY format.
        """
        raise NotImplementedError(f"{type(self).__name__} loads rows, not CSV")

    def load_rows(
        self,
        schema: str,
        name: str,
        spec: TableSpec,
        columns: Sequence[str],
        batches: Iterable[list[tuple[Any, ...]]],
    ) -> tuple[int, int]:
        """Insert the rows in batches of about :attr:`insert_batch_bytes`; return (rows, approximate bytes).

        :param schema: the destination schema.
        :param name: the work table.
        :param spec: the source table.
        :param columns: the columns, in the rows' order.
        :param batches: the rows, batch by batch.
        """
        kinds = [spec.column(c).kind for c in columns]
        values = ", ".join(self.column_value_sql(spec.column(c)) for c in columns)
        sql = f"INSERT INTO {self.table(schema, name)} ({column_list(columns)}) VALUES ({values})"
        rows = size = pending_size = 0
        pending: list[tuple[Any, ...]] = []
        for batch in batches:
            for row in batch:
                prepared = tuple(normalise_value(v, k) for v, k in zip(row, kinds, strict=True))
                pending.append(prepared)
                pending_size += approximate_size(prepared)
                if pending_size >= self.insert_batch_bytes:
                    self.insert_batch(sql, pending)
                    rows, size, pending, pending_size = rows + len(pending), size + pending_size, [], 0
        if pending:
            self.insert_batch(sql, pending)
            rows, size = rows + len(pending), size + pending_size
        return rows, size

    def insert_batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert one batch with the driver's ``executemany``.

        :param sql: the single-row INSERT statement.
        :param rows: the rows.
        """
        with contextlib.closing(self._connection.cursor()) as cursor:
            try:
                cursor.executemany(sql, rows)
            except Exception as error:
                raise self.translate_error(error, sql) from error

    # -- reading the destination ---------------------------------------------------------------

    def max_cursor(self, schema: str, name: str, spec: TableSpec) -> str | None:
        """The highest cursor value in a destination table, ISO 8601 in UTC (None if empty).

        :param schema: the destination schema.
        :param name: the table.
        :param spec: the source table, for its cursor.
        """
        value = self.query(f"SELECT max({self.cursor_sql(spec)}) FROM {self.table(schema, name)}")[0][0]
        return iso_utc(value)

    def cursor_sql(self, spec: TableSpec, alias: str | None = None) -> str:
        """The cursor expression of ``spec`` in this dialect.

        :param spec: the table.
        :param alias: a table alias to prefix the columns with.
        """
        prefix = f"{alias}." if alias else ""
        names = [prefix + self.quote(c) for c in spec.cursor]
        return names[0] if len(names) == 1 else "COALESCE(" + ", ".join(names) + ")"
