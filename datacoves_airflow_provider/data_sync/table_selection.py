"""Which metadata tables a data sync copies: the documented defaults, ``tables`` and ``additional_tables``.

Checked when the DAG is parsed (names must be plain identifiers); resolved against the running
Airflow's tables when the task runs: a default table this Airflow does not have (``task_fail`` on
3.x, ``ab_*`` without the FAB auth manager) is skipped and reported, a table the DAG asked for by
name that does not exist fails the task before anything is written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from datacoves_airflow_provider.data_sync.source import ARCHIVE_TABLE_PREFIX
from datacoves_airflow_provider.data_sync.table_specs import IDENTIFIER_PATTERN
from datacoves_airflow_provider.exceptions import (
    DatacovesError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
)

__all__ = ["DEFAULT_TABLES", "SECRET_BEARING_TABLES", "MissingTablesError", "TableSelection"]

#: The tables synced when ``tables`` is not given (Datacoves' documented default set).
DEFAULT_TABLES: tuple[str, ...] = (
    "ab_permission",
    "ab_role",
    "ab_user",
    "dag",
    "dag_run",
    "dag_tag",
    "import_error",
    "job",
    "task_fail",
    "task_instance",
)


#: Tables ``tables=[]`` (every table) leaves out, because what tasks and commands put in them may
#: be secret: XCom values, rendered template fields (a templated password, a Kubernetes pod spec),
#: the values tasks and assets store in Airflow 3's state stores, and the ``log`` table (the
#: arguments of CLI commands, e.g. ``airflow variables set KEY VALUE``). They are synced only when
#: named in ``tables`` or ``additional_tables``.
SECRET_BEARING_TABLES: tuple[str, ...] = (
    "asset_state_store",
    "log",
    "rendered_task_instance_fields",
    "task_state_store",
    "xcom",
)


class MissingTablesError(DatacovesError, ValueError):
    """Tables the DAG asked for by name do not exist in this Airflow's database."""


def _names(value: Sequence[str] | None, param: str, task_id: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Collection):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: {param} must be a list of table names, e.g. {param}=['dag_run'], "
            f"not {type(value).__name__} {value!r:.80}"
        )
    names: list[str] = []
    for name in value:
        if not isinstance(name, str):
            raise InvalidArgumentTypeError(
                f"Task {task_id!r}: {param} holds {name!r}, which is not a table name (a string)"
            )
        if not IDENTIFIER_PATTERN.match(name):
            raise InvalidArgumentError(
                f"Task {task_id!r}: {param} holds {name!r}, which is not a valid table name: use the "
                "table's plain name (letters, digits and _, not starting with a digit, at most 63 "
                "characters), e.g. 'task_instance', without schema or quotes"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class TableSelection:
    """The tables a sync was asked for.

    :param tables: the explicit list; ``None`` for the default set; empty for every table.
    :param additional_tables: tables added to that set.
    """

    tables: tuple[str, ...] | None
    additional_tables: tuple[str, ...] = ()

    @classmethod
    def from_arguments(
        cls, tables: Sequence[str] | None, additional_tables: Sequence[str] | None, task_id: str = "?"
    ) -> TableSelection:
        """Check the operator's ``tables`` and ``additional_tables`` (at DAG parse time).

        :param tables: ``None`` (the default set), ``[]`` (every table) or a list of names.
        :param additional_tables: names added to the set.
        :param task_id: the task, for error messages.
        """
        return cls(
            tables=_names(tables, "tables", task_id),
            additional_tables=_names(additional_tables, "additional_tables", task_id) or (),
        )

    def resolve(self, existing: set[str]) -> tuple[list[str], list[str]]:
        """The tables to sync on this Airflow, and the default tables it does not have.

        :param existing: the tables of the metadata database.
        :returns: (tables to sync, in order; default tables skipped because they do not exist).
        :raises MissingTablesError: a table named in ``tables`` or ``additional_tables`` does not exist.
        """
        if self.tables is None:
            wanted = [t for t in DEFAULT_TABLES if t in existing]
            skipped = [t for t in DEFAULT_TABLES if t not in existing]
            required: tuple[str, ...] = ()
        elif not self.tables:
            wanted = sorted(
                t
                for t in existing
                if not t.startswith(ARCHIVE_TABLE_PREFIX) and t not in SECRET_BEARING_TABLES
            )
            skipped, required = [], ()
        else:
            wanted, skipped, required = list(self.tables), [], self.tables
        required = (*required, *self.additional_tables)
        missing = [t for t in required if t not in existing]
        if missing:
            raise MissingTablesError(
                f"These tables were asked for but do not exist in this Airflow's metadata database: "
                f"{', '.join(missing)}. Remove them from tables/additional_tables (this Airflow has "
                f"{len(existing)} tables, e.g. {', '.join(sorted(existing)[:8])})"
            )
        for table in self.additional_tables:
            if table not in wanted:
                wanted.append(table)
        return wanted, skipped

    def withheld(self, existing: set[str]) -> list[str]:
        """The tables ``tables=[]`` leaves out because they may hold secrets (and that were not
        named in ``additional_tables``); empty for any other selection.

        :param existing: the tables of the metadata database.
        """
        if self.tables != ():
            return []
        return [t for t in SECRET_BEARING_TABLES if t in existing and t not in self.additional_tables]
