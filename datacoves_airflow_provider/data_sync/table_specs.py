"""What a synced table looks like, independent of the database it is read from or written to.

The source reflects each metadata table into a :class:`TableSpec` (columns with a portable
:class:`ColumnKind`, primary key, and the update cursor used for incremental syncs); every
destination turns that spec into its own DDL and SQL.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "IDENTIFIER_PATTERN",
    "INCREMENTAL_CURSORS",
    "REDACTED_COLUMNS",
    "ColumnKind",
    "ColumnSpec",
    "TableSpec",
    "column_list",
    "qualified",
    "quote_identifier",
    "stage_table_name",
]

#: Table names the sync accepts: plain SQL identifiers, as Airflow's own tables are.
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Tables synced incrementally, with their update cursor: the first column the running Airflow
#: has, or several columns combined with COALESCE (first non-null wins). Every other table is
#: copied in full each time (they are small: DAGs, users, roles, tags, import errors).
#:
#: - ``task_instance``, ``task_instance_history``, ``dag_run``: ``updated_at``, which Airflow's
#:   models set on every update (``onupdate``).
#: - ``job``: finished jobs carry ``end_date`` (set with their final state); running ones move
#:   ``latest_heartbeat``.
#: - ``log``: append-only, stamped ``dttm``.
INCREMENTAL_CURSORS: dict[str, tuple[str, ...]] = {
    "task_instance": ("updated_at",),
    "task_instance_history": ("updated_at",),
    "dag_run": ("updated_at",),
    "job": ("end_date", "latest_heartbeat"),
    "log": ("dttm",),
}


#: Columns that hold credentials; they are never copied (the destination column is NULL), even when
#: the table is asked for by name: connection passwords and extras (also those of the connection
#: tests Airflow 3 queues, and their request tokens), variable values, password hashes and
#: self-registration tokens, web sessions, and the arguments of triggers and callbacks (which may
#: carry connection secrets).
REDACTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "connection": ("password", "extra"),
    "connection_test_request": ("password", "extra", "token"),
    "variable": ("val",),
    "ab_user": ("password",),
    "ab_register_user": ("password", "registration_hash"),
    "session": ("data",),
    "trigger": ("kwargs", "encrypted_kwargs"),
    "callback": ("data",),
}


class ColumnKind(str, enum.Enum):
    """The portable type of a column; each destination maps it to its own type."""

    BOOLEAN = "boolean"
    SMALLINT = "smallint"
    INTEGER = "integer"
    BIGINT = "bigint"
    FLOAT = "float"
    NUMERIC = "numeric"
    STRING = "string"
    TIMESTAMP_TZ = "timestamp_tz"
    TIMESTAMP = "timestamp"
    DATE = "date"
    TIME = "time"
    INTERVAL = "interval"
    JSON = "json"
    BINARY = "binary"
    UUID = "uuid"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a synced table.

    :param name: the column name, as the source spells it.
    :param kind: its portable type.
    :param length: the maximum length of a string column, when the source declares one.
    :param precision: digits of a numeric column, when declared.
    :param scale: digits after the point of a numeric column, when declared.
    :param nullable: whether the column accepts NULL.
    :param source_type: the source's own type name (for the log and the docs; not used in DDL).
    :param pg_binary_safe: the source is PostgreSQL and this column's binary COPY format is the one
        a PostgreSQL destination column of the mapped type reads.
    """

    name: str
    kind: ColumnKind
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    source_type: str = ""
    pg_binary_safe: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A source table as the sync sees it.

    :param name: the table name (the same at the source and the destination).
    :param columns: its columns, in the source's order.
    :param primary_key: the primary-key columns; empty when the table has none.
    :param cursor: the update-cursor columns (COALESCEd) for an incremental sync; empty for a
        table copied in full every time.
    :param redacted: columns that are never copied (credentials): NULL at the destination.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    cursor: tuple[str, ...] = field(default=())
    redacted: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(column.name for column in self.columns)

    @property
    def incremental(self) -> bool:
        """Whether the table can be synced incrementally (it has a primary key and a cursor)."""
        return bool(self.primary_key and self.cursor)

    def signature(self) -> str:
        """A string that changes when a column is added, removed, renamed or changes kind."""
        return ",".join(f"{c.name}:{c.kind.value}" for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``.

        :param name: the column name.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


#: The longest identifier every destination accepts (PostgreSQL's limit).
_MAX_IDENTIFIER = 63


def stage_table_name(table: str, purpose: str = "stage") -> str:
    """The name of the work table a sync loads before it touches ``table``: ``_dcsync_<purpose>__<table>``,
    or, when that is longer than 63 characters, its first characters and a hash of the whole table
    name (two long names sharing a prefix get different work tables).

    :param table: the destination table.
    :param purpose: ``stage`` (rows to swap in or merge), ``keys`` (the source's primary keys) or
        ``typed`` (Snowflake's typed copy).
    """
    name = f"_dcsync_{purpose}__{table}"
    if len(name) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:10]
    return f"{name[: _MAX_IDENTIFIER - len(digest) - 1]}_{digest}"


def quote_identifier(name: str, quote: str = '"') -> str:
    """Quote an identifier for SQL, doubling any quote character inside it.

    :param name: the identifier.
    :param quote: the quote character of the dialect.
    """
    return quote + name.replace(quote, quote * 2) + quote


def qualified(schema: str, table: str, quote: str = '"') -> str:
    """``"schema"."table"``, each part quoted.

    :param schema: the schema name.
    :param table: the table name.
    :param quote: the quote character of the dialect.
    """
    return f"{quote_identifier(schema, quote)}.{quote_identifier(table, quote)}"


def column_list(names: Sequence[str], quote: str = '"') -> str:
    """A comma-separated list of quoted column names.

    :param names: the column names.
    :param quote: the quote character of the dialect.
    """
    return ", ".join(quote_identifier(name, quote) for name in names)
