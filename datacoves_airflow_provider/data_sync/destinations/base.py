"""The warehouse side of the data sync: what every destination does, in portable SQL.

A destination loads each table into a *stage* table first and only touches the real table in the
sync's last step: a full refresh swaps the stage in (drop + rename), an incremental sync merges it
(delete the changed keys, insert the stage). Where the warehouse has transactional DDL
(PostgreSQL, Redshift, DuckDB) the whole sync is one transaction, so a sync that dies at any point
leaves every table as it was; on Snowflake, whose DDL commits on its own, each table's swap is
atomic on its own and the merges share one transaction.

Each concrete destination supplies the connection, the type mapping and the bulk-load path.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from datacoves_airflow_provider.data_sync.postgres_copy import ByteSink
from datacoves_airflow_provider.data_sync.table_specs import (
    ColumnKind,
    ColumnSpec,
    TableSpec,
    column_list,
    qualified,
    quote_identifier,
)
from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = [
    "STATE_TABLE",
    "WORK_TABLE_MARK",
    "DestinationError",
    "SyncDestination",
    "SyncState",
    "UnmanagedTableError",
    "normalise_value",
]

#: The table in the destination schema that remembers, per synced table, the cursor reached, the
#: row count and the column signature. It is written in the same transaction as the data.
STATE_TABLE = "_datacoves_sync_state"

#: The ``columns_signature`` of a state-table row that records a work table the sync created (so a
#: work table left by a sync that died, on a destination without transactional DDL, is known to be
#: ours); every other row is a synced table's state.
WORK_TABLE_MARK = "(work table)"


class DestinationError(DatacovesError, RuntimeError):
    """The destination could not be reached or refused an operation; the message names the connection."""


class UnmanagedTableError(DatacovesError, ValueError):
    """A table the sync would replace or drop exists in the destination schema, and the sync did not
    create it."""


@dataclass(frozen=True)
class SyncState:
    """What the last successful sync left for one table.

    :param table: the table name.
    :param cursor_value: the highest cursor value copied (ISO 8601, UTC), or None.
    :param row_count: the rows the table had after that sync.
    :param signature: the column signature (:meth:`TableSpec.signature`) it was synced with.
    """

    table: str
    cursor_value: str | None
    row_count: int
    signature: str


def normalise_value(value: Any, kind: ColumnKind) -> Any:
    """Turn a source driver's value into one every destination driver binds the same way.

    JSON becomes its text, binary becomes ``bytes``, UUIDs and intervals become strings, naive
    timestamps of a time-zone column are taken as UTC (Airflow stores UTC). SQLite hands its
    declared types over as storage classes: a boolean arrives as 0 or 1 and becomes ``bool``, a
    timestamp or date arrives as ISO text and becomes ``datetime`` / ``date``.

    :param value: the value from the source driver.
    :param kind: the column's kind.
    """
    if value is None:
        return None
    if kind is ColumnKind.BOOLEAN and not isinstance(value, bool):
        return bool(value)
    if kind in (ColumnKind.TIMESTAMP_TZ, ColumnKind.TIMESTAMP) and isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if kind is ColumnKind.DATE and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    if kind is ColumnKind.JSON:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if kind is ColumnKind.BINARY:
        return bytes(value)
    if kind is ColumnKind.UUID:
        return str(value)
    if kind is ColumnKind.INTERVAL:
        return str(value)
    if kind is ColumnKind.TIMESTAMP_TZ and isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    if kind is ColumnKind.STRING and not isinstance(value, str):
        return str(value)
    return value


class SyncDestination(ABC):
    """A warehouse the sync writes to.

    :param connection_id: the Airflow connection of the destination (named in every error).
    """

    #: The warehouse's name in messages ("PostgreSQL", "Snowflake", ...).
    label: str = "database"
    #: Whether a CREATE/DROP/ALTER TABLE can be rolled back with the data.
    transactional_ddl: bool = True
    #: Whether :meth:`load_copy` takes PostgreSQL CSV from the source's COPY.
    accepts_csv: bool = False
    #: Whether :meth:`load_copy` also takes PostgreSQL's binary COPY format.
    accepts_binary_copy: bool = False
    #: Whether the primary key is declared on the destination table (after loading).
    declares_primary_key: bool = True
    #: The DB-API placeholder of the driver.
    placeholder: str = "%s"
    #: Row data per :meth:`insert_batch` call when loading rows (statement-size limits).
    insert_batch_bytes: int = 4 << 20

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self._connection: Any = None
        self._replaced: dict[str, int] = {}
        #: work tables recorded in the state table (by this sync or one that died before cleaning up)
        self._work_claims: set[str] = set()
        #: work tables this session has checked and recorded
        self._work_tables: set[str] = set()

    # -- connection and transaction ------------------------------------------------------------

    @abstractmethod
    def connect(self) -> Any:
        """Open and return a DB-API connection to the warehouse (autocommit off where DDL is
        transactional)."""

    @contextlib.contextmanager
    def session(self) -> Iterator[SyncDestination]:
        """Connect, and on leaving commit (or roll back on an exception) and close."""
        try:
            self._connection = self.connect()
        except Exception as error:
            raise DestinationError(
                f"Could not connect to the {self.label} destination of connection "
                f"{self.connection_id!r}: {type(error).__name__}: {error}. Check the connection's host, "
                f"port, credentials and network access."
            ) from error
        try:
            yield self
            self.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                self._connection.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def commit(self) -> None:
        """Commit the open transaction."""
        self._connection.commit()

    def begin_final_step(self) -> None:  # noqa: B027 (optional: most destinations need nothing)
        """Start the transaction the swaps and merges run in (where it is not already open)."""

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement; return its row count.

        :param sql: the statement.
        :param params: values for its placeholders.
        """
        rowcount, _ = self._run(sql, params, fetch=False)
        return rowcount

    def _run(self, sql: str, params: Sequence[Any] | None, fetch: bool) -> tuple[int, list[tuple[Any, ...]]]:
        with contextlib.closing(self._connection.cursor()) as cursor:
            try:
                if params is None:
                    cursor.execute(sql)
                else:
                    cursor.execute(sql, params)
                rows = [tuple(row) for row in cursor.fetchall()] if fetch else []
            except Exception as error:
                raise self.translate_error(error, sql) from error
            return int(cursor.rowcount if cursor.rowcount is not None else -1), rows

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query; return its rows.

        :param sql: the query.
        :param params: values for its placeholders.
        """
        return self._run(sql, params, fetch=True)[1]

    def translate_error(self, error: Exception, sql: str) -> Exception:
        """Wrap a driver error so the message names the connection and what was being done.

        :param error: the driver's exception.
        :param sql: the statement that failed.
        """
        hint = ""
        text = str(error).lower()
        if "permission denied" in text or "insufficient privileges" in text or "not authorized" in text:
            hint = (
                " The connection's user lacks a privilege: it needs to create schemas and tables in "
                "the destination schema (or own it)."
            )
        statement = " ".join(sql.split())[:200]
        return DestinationError(
            f"The {self.label} destination of connection {self.connection_id!r} failed: "
            f"{type(error).__name__}: {str(error).strip()}.{hint} Statement: {statement}"
        )

    # -- names and types -----------------------------------------------------------------------

    def quote(self, name: str) -> str:
        """Quote an identifier.

        :param name: the identifier.
        """
        return quote_identifier(name)

    def table(self, schema: str, name: str) -> str:
        """The quoted, schema-qualified name of a table.

        :param schema: the destination schema.
        :param name: the table.
        """
        return qualified(schema, name)

    @abstractmethod
    def column_type(self, column: ColumnSpec) -> str:
        """The destination's type for a column.

        :param column: the column.
        """

    def work_column_type(self, column: ColumnSpec) -> str:
        """A column's type in the work tables the sync loads first; the final type by default.

        :param column: the column.
        """
        return self.column_type(column)

    def column_value_sql(self, column: ColumnSpec) -> str:
        """How a bound value is written into a column (e.g. ``PARSE_JSON(%s)``); the placeholder by default.

        :param column: the column.
        """
        return self.placeholder

    # -- schema and state ----------------------------------------------------------------------

    def ensure_schema(self, schema: str) -> None:
        """Create the destination schema and the state table if they do not exist.

        Two first syncs into a new schema at once can both try to create it; the one that loses
        fails with an error that says so (PostgreSQL makes them take turns instead).

        :param schema: the destination schema.
        """
        try:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}")
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table(schema, STATE_TABLE)} ("
                f"{self.quote('table_name')} VARCHAR(256) NOT NULL, "
                f"{self.quote('cursor_value')} VARCHAR(64), "
                f"{self.quote('row_count')} BIGINT NOT NULL, "
                f"{self.quote('columns_signature')} {self.long_text_type()} NOT NULL, "
                f"{self.quote('synced_at')} VARCHAR(64) NOT NULL)"
            )
        except DestinationError as error:
            text = str(error).lower()
            if "duplicate key" not in text and "already exists" not in text:
                raise
            raise DestinationError(
                f"The {self.label} destination of connection {self.connection_id!r}: another data sync "
                f"created schema {schema!r} (or its state table) at the same moment as this one, and "
                "this one gave way before writing anything. Run one sync per destination schema at a "
                "time (max_active_runs=1 on the DAG, one task per schema); the next run of this task "
                "will succeed"
            ) from error

    def long_text_type(self) -> str:
        """A string type with no practical length limit."""
        return "TEXT"

    def read_state(self, schema: str) -> dict[str, SyncState]:
        """Every table's state from the last successful sync.

        :param schema: the destination schema.
        """
        rows = self.query(
            f"SELECT {column_list(['table_name', 'cursor_value', 'row_count', 'columns_signature'])} "
            f"FROM {self.table(schema, STATE_TABLE)}"
        )
        self._work_claims = {row[0] for row in rows if row[3] == WORK_TABLE_MARK}
        self._work_tables = set()
        return {
            row[0]: SyncState(row[0], row[1], int(row[2]), row[3])
            for row in rows
            if row[3] != WORK_TABLE_MARK
        }

    def write_state(self, schema: str, state: SyncState) -> None:
        """Record a table's state (inside the final step's transaction).

        :param schema: the destination schema.
        :param state: the new state.
        """
        p = self.placeholder
        self.execute(
            f"DELETE FROM {self.table(schema, STATE_TABLE)} WHERE {self.quote('table_name')} = {p}",
            [state.table],
        )
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.execute(
            f"INSERT INTO {self.table(schema, STATE_TABLE)} "
            f"({column_list(['table_name', 'cursor_value', 'row_count', 'columns_signature', 'synced_at'])}) "
            f"VALUES ({p}, {p}, {p}, {p}, {p})",
            [state.table, state.cursor_value, state.row_count, state.signature, now],
        )

    # -- work tables ---------------------------------------------------------------------------

    def table_exists(self, schema: str, name: str) -> bool:
        """Whether a table (or view) of that name exists in the schema.

        :param schema: the destination schema.
        :param name: the table.
        """
        return bool(self.target_columns(schema, name))

    def claim_work_table(self, schema: str, name: str) -> None:
        """Make sure ``name`` is a work table of the sync before it is (re)created or dropped, and
        record it in the state table: a table of that name that the sync did not create is an error.

        :param schema: the destination schema.
        :param name: the work table.
        :raises UnmanagedTableError: a table of that name exists and the sync did not create it.
        """
        if name in self._work_tables:
            return
        if name not in self._work_claims:
            if self.table_exists(schema, name):
                raise UnmanagedTableError(
                    f"Table {name!r} in schema {schema!r} of the {self.label} destination (connection "
                    f"{self.connection_id!r}) has the name of one of the data sync's work tables, but the "
                    "sync did not create it, and it never drops a table it did not create. Rename or "
                    "drop that table, or sync into another destination_schema"
                )
            self._record_work_table(schema, name)
            self._work_claims.add(name)
        self._work_tables.add(name)

    def _record_work_table(self, schema: str, name: str) -> None:
        p = self.placeholder
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.execute(
            f"INSERT INTO {self.table(schema, STATE_TABLE)} "
            f"({column_list(['table_name', 'cursor_value', 'row_count', 'columns_signature', 'synced_at'])}) "
            f"VALUES ({p}, NULL, 0, {p}, {p})",
            [name, WORK_TABLE_MARK, now],
        )

    def release_work_table(self, schema: str, name: str) -> None:
        """Forget a work table that no longer exists (dropped, or renamed into its target's place).

        :param schema: the destination schema.
        :param name: the work table.
        """
        if name not in self._work_claims:
            return
        p = self.placeholder
        self.execute(
            f"DELETE FROM {self.table(schema, STATE_TABLE)} WHERE {self.quote('table_name')} = {p} "
            f"AND {self.quote('columns_signature')} = {p}",
            [name, WORK_TABLE_MARK],
        )
        self._work_claims.discard(name)
        self._work_tables.discard(name)

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
                pending_size += _approximate_size(prepared)
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
        return _iso_utc(value)

    def cursor_sql(self, spec: TableSpec, alias: str | None = None) -> str:
        """The cursor expression of ``spec`` in this dialect.

        :param spec: the table.
        :param alias: a table alias to prefix the columns with.
        """
        prefix = f"{alias}." if alias else ""
        names = [prefix + self.quote(c) for c in spec.cursor]
        return names[0] if len(names) == 1 else "COALESCE(" + ", ".join(names) + ")"

    def count_new_keys(self, schema: str, stage: str, target: str, spec: TableSpec) -> int:
        """How many stage rows have a primary key the target does not have yet.

        :param schema: the destination schema.
        :param stage: the stage table.
        :param target: the real table.
        :param spec: the source table, for its primary key.
        """
        return int(
            self.query(
                f"SELECT count(*) FROM {self.table(schema, stage)} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {self.table(schema, target)} t WHERE {self._key_match(spec, 't', 's')})"
            )[0][0]
        )

    def prepare_merge(self, schema: str, stage: str, target: str, spec: TableSpec, stage_rows: int) -> int:
        """Get a merge ready; return how many stage rows have a key the target does not have yet.

        Where the whole sync is one transaction, the merge's first half (deleting the target rows
        whose key is in the stage) runs now, and its row count answers the question; elsewhere the
        new keys are counted and the delete waits for the final transaction.

        :param schema: the destination schema.
        :param stage: the stage table with the changed rows.
        :param target: the real table.
        :param spec: the source table, for its primary key.
        :param stage_rows: the rows in the stage.
        """
        if not stage_rows:
            return 0
        if not self.transactional_ddl:
            return self.count_new_keys(schema, stage, target, spec)
        replaced = self._delete_changed(schema, stage, target, spec)
        self._replaced[stage] = replaced
        return stage_rows - replaced

    def _delete_changed(self, schema: str, stage: str, target: str, spec: TableSpec) -> int:
        return max(
            self.execute(
                f"DELETE FROM {self.table(schema, target)} t USING {self.table(schema, stage)} s "
                f"WHERE {self._key_match(spec, 't', 's')}"
            ),
            0,
        )

    def count_unseen_keys(self, schema: str, keys: str, stage: str, target: str, spec: TableSpec) -> int:
        """How many source keys are neither in the target nor among the changed rows: rows the cursor
        missed (they force a full refresh).

        :param schema: the destination schema.
        :param keys: the work table holding every source key.
        :param stage: the stage table with the changed rows.
        :param target: the real table.
        :param spec: the source table, for its primary key.
        """
        return int(
            self.query(
                f"SELECT count(*) FROM {self.table(schema, keys)} k WHERE NOT EXISTS "
                f"(SELECT 1 FROM {self.table(schema, target)} t WHERE {self._key_match(spec, 't', 'k')}) "
                f"AND NOT EXISTS (SELECT 1 FROM {self.table(schema, stage)} s "
                f"WHERE {self._key_match(spec, 's', 'k')})"
            )[0][0]
        )

    def target_columns(self, schema: str, table: str) -> list[str]:
        """The columns a destination table has, in order (empty if it does not exist).

        :param schema: the destination schema.
        :param table: the table.
        """
        p = self.placeholder
        rows = self.query(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = {p} AND table_name = {p} ORDER BY ordinal_position",
            [schema, table],
        )
        return [row[0] for row in rows]

    # -- the final step ------------------------------------------------------------------------

    def _key_match(self, spec: TableSpec, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{self.quote(k)} = {right}.{self.quote(k)}" for k in spec.primary_key)

    def prepare_replace(self, schema: str, stage: str, target: str, spec: TableSpec) -> None:  # noqa: B027
        """Work a full refresh needs before the final transaction (none where DDL is transactional).

        :param schema: the destination schema.
        :param stage: the loaded stage table.
        :param target: the real table.
        :param spec: the source table.
        """

    def replace(self, schema: str, stage: str, target: str, spec: TableSpec) -> None:
        """Put the stage in the target's place (drop, rename), then declare the primary key.

        :param schema: the destination schema.
        :param stage: the loaded stage table.
        :param target: the real table.
        :param spec: the source table.
        """
        self.execute(f"DROP TABLE IF EXISTS {self.table(schema, target)}")
        self.execute(f"ALTER TABLE {self.table(schema, stage)} RENAME TO {self.quote(target)}")
        self.release_work_table(schema, stage)
        if spec.primary_key and self.declares_primary_key:
            self.execute(
                f"ALTER TABLE {self.table(schema, target)} ADD PRIMARY KEY ({column_list(spec.primary_key)})"
            )

    def merge(self, schema: str, stage: str, target: str, spec: TableSpec) -> tuple[int, int]:
        """Apply changed rows: delete the target rows whose key is in the stage, insert the stage.

        :param schema: the destination schema.
        :param stage: the stage table with the changed rows.
        :param target: the real table.
        :param spec: the source table.
        :returns: (rows replaced, rows inserted in all).
        """
        replaced = self._replaced.pop(stage, None)
        if replaced is None:
            replaced = self._delete_changed(schema, stage, target, spec)
        columns = column_list(spec.column_names)
        inserted = self.execute(
            f"INSERT INTO {self.table(schema, target)} ({columns}) "
            f"SELECT {columns} FROM {self.table(schema, stage)}"
        )
        self.drop(schema, stage)
        return max(replaced, 0), max(inserted, 0)

    def delete_missing(self, schema: str, keys: str, target: str, spec: TableSpec) -> int:
        """Delete the target rows whose key the source no longer has (``airflow db clean``).

        :param schema: the destination schema.
        :param keys: the work table holding every source key.
        :param target: the real table.
        :param spec: the source table.
        :returns: the rows deleted.
        """
        deleted = self.execute(
            f"DELETE FROM {self.table(schema, target)} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.table(schema, keys)} k WHERE {self._key_match(spec, 'k', 't')})"
        )
        self.drop(schema, keys)
        return max(deleted, 0)

    def drop(self, schema: str, name: str) -> None:
        """Drop a work table if it exists.

        :param schema: the destination schema.
        :param name: the table.
        """
        self.claim_work_table(schema, name)
        self.execute(f"DROP TABLE IF EXISTS {self.table(schema, name)}")
        self.release_work_table(schema, name)


def _approximate_size(row: tuple[Any, ...]) -> int:
    size = 0
    for value in row:
        if value is None:
            continue
        size += len(value) if isinstance(value, (str, bytes)) else 8
    return size


def _iso_utc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    raise TypeError(f"cursor value {value!r} is not a timestamp")
