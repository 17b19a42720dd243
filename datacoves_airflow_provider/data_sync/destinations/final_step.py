"""The sync's last step on a destination: swapping full refreshes in, merging incremental changes,
deleting the rows the source no longer has.

Where DDL is transactional the step runs in the sync's one transaction; elsewhere (Snowflake)
:meth:`FinalStep.prepare_replace` does the DDL first and the rest shares one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datacoves_airflow_provider.data_sync.destinations.state import StateTables
from datacoves_airflow_provider.data_sync.table_specs import TableSpec, column_list

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Connection

__all__ = ["FinalStep"]


class FinalStep(StateTables):
    """What a destination does to put the loaded stage tables in their targets' place.

    :param connection_id: the Airflow connection of the destination (named in every error).
    :param connection: an in-memory Airflow connection to use instead of looking ``connection_id`` up.
    """

    #: Whether the primary key is declared on the destination table (after loading).
    declares_primary_key: bool = True

    def __init__(self, connection_id: str, connection: Connection | None = None) -> None:
        super().__init__(connection_id, connection)
        #: stage table -> target rows its merge already deleted (see :meth:`prepare_merge`)
        self._replaced: dict[str, int] = {}

    # -- key matching --------------------------------------------------------------------------

    def _key_match(self, spec: TableSpec, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{self.quote(k)} = {right}.{self.quote(k)}" for k in spec.primary_key)

    def _no_key_in(self, schema: str, table: str, alias: str, spec: TableSpec, outer: str) -> str:
        """``NOT EXISTS`` a row of ``table`` (as ``alias``) with the key of the row ``outer``."""
        return (
            f"NOT EXISTS (SELECT 1 FROM {self.table(schema, table)} {alias} "
            f"WHERE {self._key_match(spec, alias, outer)})"
        )

    def count_new_keys(self, schema: str, stage: str, target: str, spec: TableSpec) -> int:
        """How many stage rows have a primary key the target does not have yet.

        :param schema: the destination schema.
        :param stage: the stage table.
        :param target: the real table.
        :param spec: the source table, for its primary key.
        """
        return self._count(
            f"SELECT count(*) FROM {self.table(schema, stage)} s WHERE "
            + self._no_key_in(schema, target, "t", spec, "s")
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
        return self._count(
            f"SELECT count(*) FROM {self.table(schema, keys)} k WHERE "
            f"{self._no_key_in(schema, target, 't', spec, 'k')} "
            f"AND {self._no_key_in(schema, stage, 's', spec, 'k')}"
        )

    # -- merging -------------------------------------------------------------------------------

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
        inserted = self.insert_from(schema, stage, target, spec)
        self.drop(schema, stage)
        return max(replaced, 0), max(inserted, 0)

    def insert_from(self, schema: str, source: str, target: str, spec: TableSpec) -> int:
        """Insert every row of a work table into ``target``; return the row count.

        :param schema: the destination schema.
        :param source: the work table.
        :param target: the table to insert into.
        :param spec: the source table, for its columns.
        """
        return self.execute(
            f"INSERT INTO {self.table(schema, target)} ({column_list(spec.column_names)}) "
            + self.select_columns(spec, self.table(schema, source))
        )

    def select_columns(self, spec: TableSpec, source: str) -> str:
        """``SELECT`` the columns of ``spec`` from a work table, typed as the target has them.

        :param spec: the source table.
        :param source: the qualified work table.
        """
        return f"SELECT {column_list(spec.column_names)} FROM {source}"

    # -- full refresh and deletes --------------------------------------------------------------

    def prepare_replace(self, schema: str, stage: str, target: str, spec: TableSpec) -> None:
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

    def delete_missing(self, schema: str, keys: str, target: str, spec: TableSpec) -> int:
        """Delete the target rows whose key the source no longer has (``airflow db clean``).

        :param schema: the destination schema.
        :param keys: the work table holding every source key.
        :param target: the real table.
        :param spec: the source table.
        :returns: the rows deleted.
        """
        deleted = self.execute(
            f"DELETE FROM {self.table(schema, target)} t WHERE "
            + self._no_key_in(schema, keys, "k", spec, "t")
        )
        self.drop(schema, keys)
        return max(deleted, 0)
