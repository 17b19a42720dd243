"""The state table of a destination schema, and the work tables the sync records in it.

``_datacoves_sync_state`` remembers, per synced table, the cursor reached, the row count and the
column signature (written in the same transaction as the data); it also records every work table
the sync creates, so the sync only ever drops or replaces tables it made.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from datacoves_airflow_provider.data_sync.destinations.errors import DestinationError, UnmanagedTableError
from datacoves_airflow_provider.data_sync.destinations.session import DestinationSession
from datacoves_airflow_provider.data_sync.table_specs import column_list

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Connection

__all__ = ["STATE_TABLE", "WORK_TABLE_MARK", "StateTables", "SyncState"]

#: The table in the destination schema that remembers, per synced table, the cursor reached, the
#: row count and the column signature. It is written in the same transaction as the data.
STATE_TABLE = "_datacoves_sync_state"

#: The ``columns_signature`` of a state-table row that records a work table the sync created (so a
#: work table left by a sync that died, on a destination without transactional DDL, is known to be
#: ours); every other row is a synced table's state.
WORK_TABLE_MARK = "(work table)"


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


class StateTables(DestinationSession):
    """A destination's schema, its state table, and the work tables the sync claims in it.

    :param connection_id: the Airflow connection of the destination (named in every error).
    :param connection: an in-memory Airflow connection to use instead of looking ``connection_id`` up.
    """

    def __init__(self, connection_id: str, connection: Connection | None = None) -> None:
        super().__init__(connection_id, connection)
        #: work tables recorded in the state table (by this sync or one that died before cleaning up)
        self._work_claims: set[str] = set()
        #: work tables this session has checked and recorded
        self._work_tables: set[str] = set()

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

    def drop(self, schema: str, name: str) -> None:
        """Drop a work table if it exists.

        :param schema: the destination schema.
        :param name: the table.
        """
        self.claim_work_table(schema, name)
        self.execute(f"DROP TABLE IF EXISTS {self.table(schema, name)}")
        self.release_work_table(schema, name)
