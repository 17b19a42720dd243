"""A destination's session with its warehouse: connecting, the transaction, running statements, and
the dialect's names and types.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from datacoves_airflow_provider.data_sync.connections import hook_using
from datacoves_airflow_provider.data_sync.destinations.errors import DestinationError
from datacoves_airflow_provider.data_sync.table_specs import ColumnSpec, qualified, quote_identifier

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Connection

__all__ = ["DestinationSession"]

_Hook = TypeVar("_Hook")
_Session = TypeVar("_Session", bound="DestinationSession")


class DestinationSession(ABC):
    """A warehouse connection the sync runs its statements on, one transaction per session.

    :param connection_id: the Airflow connection of the destination (named in every error).
    :param connection: an in-memory Airflow connection to use instead of looking ``connection_id``
        up (a service connection).
    """

    #: The warehouse's name in messages ("PostgreSQL", "Snowflake", ...).
    label: str = "database"
    #: Whether a CREATE/DROP/ALTER TABLE can be rolled back with the data.
    transactional_ddl: bool = True
    #: The DB-API placeholder of the driver.
    placeholder: str = "%s"

    def __init__(self, connection_id: str, connection: Connection | None = None) -> None:
        self.connection_id = connection_id
        self.connection = connection
        self._connection: Any = None

    def make_hook(self, hook_class: type[_Hook], **hook_kwargs: Any) -> _Hook:
        """The provider's hook for the destination's connection (the in-memory one, if given).

        :param hook_class: the hook class.
        :param hook_kwargs: its arguments, e.g. ``postgres_conn_id=self.connection_id``.
        """
        return hook_using(hook_class, self.connection, **hook_kwargs)

    # -- connection and transaction ------------------------------------------------------------

    @abstractmethod
    def connect(self) -> Any:
        """Open and return a DB-API connection to the warehouse (autocommit off where DDL is
        transactional)."""

    @contextlib.contextmanager
    def session(self: _Session) -> Iterator[_Session]:
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

    def _count(self, sql: str) -> int:
        return int(self.query(sql)[0][0])

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

    def long_text_type(self) -> str:
        """A string type with no practical length limit."""
        return "TEXT"
