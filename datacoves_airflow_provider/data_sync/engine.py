"""The data sync itself: copy Airflow's metadata tables into a destination, exactly and atomically.

For each table, in one consistent snapshot of the source:

1. **Load** into a work (stage) table in the destination schema: the whole table for a full
   refresh, or, for an incremental table, only the rows whose update cursor is at or after the
   cursor the last sync reached minus a look-back window (late commits), plus rows with no cursor.
2. **Check deletes** (incremental only): the source's row count in the snapshot is compared with
   what the destination will hold after the merge (the row count recorded by the last sync plus
   the changed rows whose key is new). Fewer at the source means rows were deleted
   (``airflow db clean``): the source's primary keys are loaded too, and destination rows whose key
   is gone are deleted. More at the source means rows the cursor cannot find (e.g. changed by
   hand with raw SQL): the table falls back to a full refresh.
3. **Apply**, after every table is loaded: swap each fully refreshed table in, merge each
   incremental one (delete the changed keys, insert the stage), and record the cursor, row count
   and column signature in ``_datacoves_sync_state`` — in one transaction where the destination
   allows it.

A table whose columns changed (an Airflow upgrade) is refreshed in full with the new columns.

The sync only ever replaces or drops tables it created: a table of the destination schema that has
no row in ``_datacoves_sync_state`` (a user's own ``job`` table, say) stops the sync before anything
is written, unless ``replace_unmanaged_tables`` allows it; a table with a work table's name that the
sync did not create is never dropped.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from datacoves_airflow_provider.data_sync.destinations.base import (
    STATE_TABLE,
    SyncDestination,
    SyncState,
    UnmanagedTableError,
)
from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase, MetadataSnapshot
from datacoves_airflow_provider.data_sync.table_selection import TableSelection
from datacoves_airflow_provider.data_sync.table_specs import TableSpec, stage_table_name

__all__ = ["DEFAULT_LOOKBACK", "DataSync", "SyncSummary", "TableResult", "format_summary"]

log = logging.getLogger(__name__)

#: How far before the last cursor an incremental sync looks again, for rows committed late.
DEFAULT_LOOKBACK = datetime.timedelta(minutes=10)


@dataclass
class TableResult:
    """What the sync did to one table (one row of the summary).

    :param table: the table.
    :param mode: ``full`` or ``incremental``.
    :param reason: why that mode.
    :param rows_copied: rows read from the source and loaded.
    :param rows_deleted: destination rows deleted because the source no longer has them.
    :param rows_total: rows in the destination table after the sync.
    :param bytes: bytes transferred.
    :param seconds: time spent loading the table.
    :param redacted: credential columns left NULL at the destination.
    """

    table: str
    mode: str
    reason: str
    rows_copied: int = 0
    rows_deleted: int = 0
    rows_total: int = 0
    bytes: int = 0
    seconds: float = 0.0
    redacted: list[str] = field(default_factory=list)


@dataclass
class SyncSummary:
    """The result of a sync; its :meth:`as_dict` is the task's XCom.

    :param destination: the destination's kind and connection.
    :param schema: the destination schema.
    :param tables: one result per synced table.
    :param skipped: default tables this Airflow does not have.
    :param seconds: the whole sync's duration.
    :param withheld: tables ``tables=[]`` left out because they may hold secrets.
    """

    destination: str
    schema: str
    tables: list[TableResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    withheld: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the XCom)."""
        return {
            "destination": self.destination,
            "schema": self.schema,
            "tables": [asdict(result) for result in self.tables],
            "skipped": list(self.skipped),
            "withheld": list(self.withheld),
            "rows_copied": sum(r.rows_copied for r in self.tables),
            "bytes": sum(r.bytes for r in self.tables),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Pending:
    spec: TableSpec
    result: TableResult
    stage: str
    keys: str | None = None
    cursor_value: str | None = None


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:,.1f} GB"  # pragma: no cover


def format_summary(summary: SyncSummary) -> str:
    """The summary as a fixed-width table for the task log.

    :param summary: the sync's summary.
    """
    header = ("table", "mode", "copied", "deleted", "rows", "size", "seconds")
    rows = [
        (
            r.table,
            r.mode,
            f"{r.rows_copied:,}",
            f"{r.rows_deleted:,}",
            f"{r.rows_total:,}",
            _human_bytes(r.bytes),
            f"{r.seconds:.2f}",
        )
        for r in summary.tables
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum(r.rows_copied for r in summary.tables)
    lines.append(
        f"{len(summary.tables)} tables into {summary.destination} schema {summary.schema!r}: "
        f"{total:,} rows copied in {summary.seconds:.2f} s"
        + (f"; not on this Airflow, skipped: {', '.join(summary.skipped)}" if summary.skipped else "")
        + (f"; may hold secrets, left out: {', '.join(summary.withheld)}" if summary.withheld else "")
    )
    return "\n".join(lines)


class DataSync:
    """One sync of Airflow's metadata tables into a destination schema.

    :param source: the metadata database.
    :param destination: the warehouse.
    :param schema: the destination schema.
    :param selection: the tables to sync.
    :param full_refresh: copy every table in full, ignoring the incremental state.
    :param lookback: how far before the last cursor an incremental sync looks again.
    :param logger: where progress goes (the task log; a stdlib or Airflow 3 structlog logger).
    :param replace_unmanaged_tables: replace destination tables of the synced names that the sync
        did not create (otherwise they stop the sync before anything is written).
    """

    def __init__(
        self,
        source: AirflowMetadataDatabase,
        destination: SyncDestination,
        schema: str,
        selection: TableSelection,
        full_refresh: bool = False,
        lookback: datetime.timedelta = DEFAULT_LOOKBACK,
        logger: logging.Logger | Any = None,
        replace_unmanaged_tables: bool = False,
    ) -> None:
        self.source = source
        self.destination = destination
        self.schema = schema
        self.selection = selection
        self.full_refresh = full_refresh
        self.lookback = lookback
        self.log = logger or log
        self.replace_unmanaged_tables = replace_unmanaged_tables
        self._unmanaged: set[str] = set()

    def run(self) -> SyncSummary:
        """Sync; return the summary. Raises (leaving the destination as it was) on any failure."""
        started = time.monotonic()
        summary = SyncSummary(
            destination=f"{self.destination.label} ({self.destination.connection_id})", schema=self.schema
        )
        with self.source.snapshot() as snapshot:
            names, summary.skipped = self.selection.resolve(snapshot.table_names())
            summary.withheld = self.selection.withheld(snapshot.table_names())
            if summary.withheld:
                self.log.info(
                    "Left out of tables=[] because they may hold secrets: %s (name them in "
                    "additional_tables to sync them)",
                    ", ".join(summary.withheld),
                )
            if summary.skipped:
                self.log.info(
                    "Not on this Airflow, skipped: %s (they are in the default table set)",
                    ", ".join(summary.skipped),
                )
            specs = [snapshot.describe(name) for name in names]
            self.log.info(
                "Syncing %d tables into %s schema %r: %s",
                len(specs),
                summary.destination,
                self.schema,
                ", ".join(names),
            )
            with self.destination.session() as destination:
                destination.ensure_schema(self.schema)
                states = destination.read_state(self.schema)
                self._check_managed(destination, specs, states)
                pending = [self._load(snapshot, destination, spec, states.get(spec.name)) for spec in specs]
                self._apply(destination, pending)
                summary.tables = [p.result for p in pending]
        summary.seconds = time.monotonic() - started
        self.log.info("Data sync done.\n%s", format_summary(summary))
        return summary

    def _check_managed(
        self, destination: SyncDestination, specs: list[TableSpec], states: dict[str, SyncState]
    ) -> None:
        """Stop (before anything is written) if a table to sync exists without our sync state."""
        self._unmanaged = {
            spec.name
            for spec in specs
            if spec.name not in states and destination.table_exists(self.schema, spec.name)
        }
        if not self._unmanaged:
            return
        names = ", ".join(repr(name) for name in sorted(self._unmanaged))
        if not self.replace_unmanaged_tables:
            raise UnmanagedTableError(
                f"Schema {self.schema!r} of the {destination.label} destination (connection "
                f"{destination.connection_id!r}) already has table(s) {names}, which the data sync did "
                f"not create (no row in {STATE_TABLE}), and it never replaces a table it did not "
                "create. Sync into a schema of its own (destination_schema=...), rename or drop those "
                "tables yourself, or pass replace_unmanaged_tables=True to let the sync replace them"
            )
        self.log.warning(
            "Replacing table(s) %s of schema %r, which the data sync did not create "
            "(replace_unmanaged_tables=True)",
            names,
            self.schema,
        )

    # -- load phase ----------------------------------------------------------------------------

    def _transfer(
        self,
        snapshot: MetadataSnapshot,
        destination: SyncDestination,
        spec: TableSpec,
        table: str,
        columns: tuple[str, ...] | None = None,
        changed_since: datetime.datetime | None = None,
    ) -> tuple[int, int]:
        columns = columns or spec.column_names
        if snapshot.supports_copy and destination.accepts_csv:
            binary = destination.accepts_binary_copy and all(spec.column(c).pg_binary_safe for c in columns)

            def produce(sink: Any) -> int:
                return snapshot.copy_out(spec, sink, columns, changed_since, binary=binary)

            return destination.load_copy(self.schema, table, spec, columns, produce, binary=binary)
        batches = snapshot.iter_rows(spec, columns, changed_since)
        return destination.load_rows(self.schema, table, spec, columns, batches)

    def _mode(
        self, destination: SyncDestination, spec: TableSpec, state: SyncState | None
    ) -> tuple[str, str]:
        if spec.name in self._unmanaged:
            return "full", "replacing a table the sync did not create"
        if self.full_refresh:
            return "full", "full_refresh=True"
        if not spec.incremental:
            return "full", "small table" if spec.primary_key else "no primary key"
        existing = destination.target_columns(self.schema, spec.name)
        if not existing:
            return "full", "new table"
        if state is None:
            return "full", "no sync state"
        if state.signature != spec.signature() or tuple(existing) != spec.column_names:
            return "full", "columns changed"
        if state.cursor_value is None:
            return "full", "was empty"
        return "incremental", f"cursor {'/'.join(spec.cursor)}"

    def _load(
        self,
        snapshot: MetadataSnapshot,
        destination: SyncDestination,
        spec: TableSpec,
        state: SyncState | None,
    ) -> _Pending:
        started = time.monotonic()
        mode, reason = self._mode(destination, spec, state)
        stage = stage_table_name(spec.name)
        pending = _Pending(spec, TableResult(spec.name, mode, reason, redacted=list(spec.redacted)), stage)
        destination.create_table(self.schema, stage, spec)
        result = pending.result
        if mode == "incremental":
            assert state is not None and state.cursor_value is not None
            since = datetime.datetime.fromisoformat(state.cursor_value) - self.lookback
            result.rows_copied, result.bytes = self._transfer(
                snapshot, destination, spec, stage, changed_since=since
            )
            source_rows = snapshot.count(spec.name)
            # the row count the last sync committed with the data (the sync owns these tables);
            # cheaper than counting a large destination table every run
            target_rows = state.row_count
            new_keys = destination.prepare_merge(self.schema, stage, spec.name, spec, result.rows_copied)
            expected = target_rows + new_keys
            if source_rows > expected:
                result.mode, result.reason = (
                    "full",
                    (f"{source_rows - expected:,} source rows the cursor did not find; copied in full"),
                )
                mode = "full"
                destination.create_table(self.schema, stage, spec)
            elif source_rows < expected:
                pending.keys = stage_table_name(spec.name, "keys")
                destination.create_table(self.schema, pending.keys, spec, spec.primary_key)
                _, key_bytes = self._transfer(snapshot, destination, spec, pending.keys, spec.primary_key)
                result.bytes += key_bytes
                unseen = destination.count_unseen_keys(self.schema, pending.keys, stage, spec.name, spec)
                if unseen:
                    result.mode, result.reason = (
                        "full",
                        (f"{unseen:,} source rows the cursor did not find; copied in full"),
                    )
                    mode = "full"
                    destination.drop(self.schema, pending.keys)
                    pending.keys = None
                    destination.create_table(self.schema, stage, spec)
                else:
                    result.reason += f"; {expected - source_rows:,} rows deleted at the source"
            result.rows_total = source_rows
        if mode == "full":
            result.rows_copied, result.bytes = self._transfer(snapshot, destination, spec, stage)
            result.rows_total = result.rows_copied
        if spec.cursor:
            reached = destination.max_cursor(self.schema, stage, spec)
            previous = state.cursor_value if (state and mode == "incremental") else None
            pending.cursor_value = max(filter(None, [reached, previous]), default=None, key=_instant)
        result.seconds = time.monotonic() - started
        rate = result.rows_copied / result.seconds if result.seconds > 0 else 0.0
        self.log.info(
            "%s: %s (%s): %s rows, %s in %.2f s (%s rows/s, %s/s)%s",
            spec.name,
            result.mode,
            result.reason,
            f"{result.rows_copied:,}",
            _human_bytes(result.bytes),
            result.seconds,
            f"{rate:,.0f}",
            _human_bytes(result.bytes / result.seconds if result.seconds > 0 else 0),
            f"; credentials not copied: {', '.join(spec.redacted)}" if spec.redacted else "",
        )
        return pending

    # -- apply phase ---------------------------------------------------------------------------

    def _apply(self, destination: SyncDestination, pending: list[_Pending]) -> None:
        for item in pending:
            if item.result.mode == "full":
                destination.prepare_replace(self.schema, item.stage, item.spec.name, item.spec)
        destination.begin_final_step()
        for item in pending:
            if item.result.mode == "full":
                destination.replace(self.schema, item.stage, item.spec.name, item.spec)
            else:
                destination.merge(self.schema, item.stage, item.spec.name, item.spec)
                if item.keys:
                    item.result.rows_deleted = destination.delete_missing(
                        self.schema, item.keys, item.spec.name, item.spec
                    )
            destination.write_state(
                self.schema,
                SyncState(item.spec.name, item.cursor_value, item.result.rows_total, item.spec.signature()),
            )


def _instant(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)
