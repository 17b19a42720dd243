"""DataSync operators: copy Airflow's own metadata database into a warehouse schema.

``DatacovesDataSyncOperatorSnowflake`` and ``DatacovesDataSyncOperatorRedshift`` are the documented
operators (a Datacoves *service connection* delivered as ``DATACOVES__<NAME>__*`` environment
variables, or an Airflow connection); :class:`DatacovesDataSyncOperator` takes any ``db_type``
(``snowflake``, ``redshift``, ``postgres``, ``duckdb``) and is what ``@task.datacoves_airflow_db_sync``
builds on. How the copy works: :mod:`datacoves_airflow_provider.data_sync.engine`.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.compat import BaseOperator
from datacoves_airflow_provider.data_sync.connections import SERVICE_FIELDS as _SERVICE_FIELDS
from datacoves_airflow_provider.data_sync.connections import service_connection
from datacoves_airflow_provider.data_sync.destinations import make_destination
from datacoves_airflow_provider.data_sync.engine import DEFAULT_LOOKBACK
from datacoves_airflow_provider.data_sync.table_selection import TableSelection
from datacoves_airflow_provider.environment import MissingEnvironmentError

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context

__all__ = [
    "DB_TYPES",
    "DatacovesDataSyncOperator",
    "DatacovesDataSyncOperatorRedshift",
    "DatacovesDataSyncOperatorSnowflake",
    "check_db_type",
    "default_destination_schema",
    "service_connection",
]

#: Destination kinds; ``snowflake`` and ``redshift`` are the documented ones.
DB_TYPES = ("snowflake", "redshift", "postgres", "duckdb")

#: Default service connection name of the DataSync operators (Datacoves docs).
DEFAULT_SERVICE_CONNECTION = "airflow_db_load"


def check_db_type(db_type: Any, task_id: str = "?") -> str:
    """Return ``db_type`` lower-cased if it is a supported destination, else raise naming the choices.

    :param db_type: the destination kind the DAG asked for.
    :param task_id: the task, for the message.
    """
    if not isinstance(db_type, str) or db_type.strip().lower() not in DB_TYPES:
        raise ValueError(
            f"Task {task_id!r}: db_type={db_type!r} is not supported; use one of "
            f"{', '.join(repr(t) for t in DB_TYPES)} (case does not matter)"
        )
    return db_type.strip().lower()


def default_destination_schema() -> str:
    """``airflow-{DATACOVES__ENVIRONMENT_SLUG}``, the documented default destination schema."""
    slug = os.environ.get("DATACOVES__ENVIRONMENT_SLUG", "").strip()
    if not slug:
        raise MissingEnvironmentError(
            "destination_schema is not set and DATACOVES__ENVIRONMENT_SLUG is missing, so the default "
            "schema airflow-<environment slug> cannot be named: pass destination_schema='airflow_dev' "
            "(or set DATACOVES__ENVIRONMENT_SLUG on the worker)"
        )
    return f"airflow-{slug}"


class DatacovesDataSyncOperator(BaseOperator):
    """Copy Airflow's metadata tables into ``destination_schema`` of a warehouse: an exact copy, atomically.

    Small tables are copied in full each run; ``task_instance``, ``task_instance_history``,
    ``dag_run``, ``job`` and ``log`` are synced incrementally (by primary key and update cursor, with
    updates merged and rows removed by ``airflow db clean`` deleted). The task's XCom is the summary
    (rows, bytes and seconds per table).

    :param db_type: ``snowflake``, ``redshift``, ``postgres`` or ``duckdb`` (case-insensitive).
    :param connection_id: the Airflow connection of the destination.
    :param service_connection_name: instead of ``connection_id``, a Datacoves service connection
        delivered as ``DATACOVES__<NAME>__*`` environment variables (Snowflake and Redshift).
    :param destination_schema: the schema the tables land in (created if missing); default
        ``airflow-{DATACOVES__ENVIRONMENT_SLUG}``. Templated.
    :param tables: the tables to sync instead of the default set; ``[]`` syncs every table except
        those that may hold secrets (``xcom``, ``rendered_task_instance_fields``, ``log``, the state
        stores), which are synced only when named.
    :param additional_tables: tables added to the set.
    :param full_refresh: copy every table in full this run, ignoring the incremental state.
    :param incremental_lookback: how far before the last cursor an incremental sync looks again,
        for rows committed late (a ``timedelta`` or seconds; default 10 minutes).
    :param source_connection_id: an Airflow connection (postgres, mysql or sqlite) to read Airflow's
        database through, instead of Airflow's own configuration; see docs/data-sync.md for the
        order on Airflow 3, which hides that configuration from tasks.
    :param replace_unmanaged_tables: let the sync replace tables of the destination schema that it
        did not create (a table named like a synced one, without a row in ``_datacoves_sync_state``);
        by default such a table stops the sync before anything is written.
    :param kwargs: every other BaseOperator argument.
    """

    template_fields: Sequence[str] = ("destination_schema",)
    ui_color = "#c7e9f1"

    def __init__(
        self,
        *,
        db_type: str,
        connection_id: str | None = None,
        service_connection_name: str | None = None,
        destination_schema: str | None = None,
        tables: Sequence[str] | None = None,
        additional_tables: Sequence[str] | None = None,
        full_refresh: bool = False,
        incremental_lookback: datetime.timedelta | float = DEFAULT_LOOKBACK,
        source_connection_id: str | None = None,
        replace_unmanaged_tables: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.db_type = check_db_type(db_type, self.task_id)
        if source_connection_id is not None and (
            not isinstance(source_connection_id, str) or not source_connection_id.strip()
        ):
            raise ValueError(
                f"Task {self.task_id!r}: source_connection_id must name the connection to Airflow's "
                f"database, e.g. 'airflow_db', got {source_connection_id!r}; leave it out to use "
                "Airflow's own configuration"
            )
        self.source_connection_id = source_connection_id
        if connection_id is not None and (not isinstance(connection_id, str) or not connection_id.strip()):
            raise ValueError(
                f"Task {self.task_id!r}: connection_id must be a connection name, got {connection_id!r}"
            )
        if connection_id is None and service_connection_name is None:
            raise ValueError(
                f"Task {self.task_id!r}: name the destination: connection_id='<Airflow connection>'"
                + (
                    " or service_connection_name='<service connection>'"
                    if self.db_type in _SERVICE_FIELDS
                    else ""
                )
            )
        if connection_id is None and self.db_type not in _SERVICE_FIELDS:
            raise ValueError(
                f"Task {self.task_id!r}: service connections exist for Snowflake and Redshift only; "
                f"give db_type={self.db_type!r} an Airflow connection with connection_id="
            )
        if service_connection_name is not None and (
            not isinstance(service_connection_name, str) or not service_connection_name.strip()
        ):
            raise ValueError(
                f"Task {self.task_id!r}: service_connection_name must be a name like 'airflow_db_load', "
                f"got {service_connection_name!r}"
            )
        if destination_schema is not None and (
            not isinstance(destination_schema, str) or not destination_schema.strip()
        ):
            raise ValueError(
                f"Task {self.task_id!r}: destination_schema must be a non-empty schema name, got "
                f"{destination_schema!r}; leave it out for the default airflow-<environment slug>"
            )
        for name, flag in (
            ("full_refresh", full_refresh),
            ("replace_unmanaged_tables", replace_unmanaged_tables),
        ):
            if not isinstance(flag, bool):
                raise TypeError(
                    f"Task {self.task_id!r}: {name} must be True or False, got {type(flag).__name__} {flag!r}"
                )
        if isinstance(incremental_lookback, (int, float)) and not isinstance(incremental_lookback, bool):
            incremental_lookback = datetime.timedelta(seconds=incremental_lookback)
        if (
            not isinstance(incremental_lookback, datetime.timedelta)
            or incremental_lookback.total_seconds() < 0
        ):
            raise ValueError(
                f"Task {self.task_id!r}: incremental_lookback must be a non-negative timedelta or "
                f"number of seconds, got {incremental_lookback!r}"
            )
        self.connection_id = connection_id
        self.service_connection_name = service_connection_name
        self.destination_schema = destination_schema
        self.selection = TableSelection.from_arguments(tables, additional_tables, self.task_id)
        self.tables = tables
        self.additional_tables = additional_tables
        self.full_refresh = full_refresh
        self.replace_unmanaged_tables = replace_unmanaged_tables
        self.incremental_lookback = incremental_lookback

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the sync; return its summary (the XCom).

        :param context: the task context.
        """
        from datacoves_airflow_provider.data_sync.engine import DataSync
        from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase

        schema = self.destination_schema or default_destination_schema()
        destination = make_destination(self.db_type, self.connection_id, self.service_connection_name)
        source = (
            AirflowMetadataDatabase.from_connection(self.source_connection_id)
            if self.source_connection_id
            else AirflowMetadataDatabase.from_airflow_config()
        )
        sync = DataSync(
            source,
            destination,
            schema,
            self.selection,
            full_refresh=self.full_refresh,
            lookback=self.incremental_lookback,
            logger=self.log,
            replace_unmanaged_tables=self.replace_unmanaged_tables,
        )
        return sync.run().as_dict()


class _DocumentedDataSyncOperator(DatacovesDataSyncOperator):
    """The documented operators' shape: one destination kind, a service connection by default.

    :param service_connection_name: the service connection whose ``DATACOVES__<NAME>__*`` variables
        reach the warehouse.
    :param connection_id: an Airflow connection instead.
    :param kwargs: :class:`DatacovesDataSyncOperator` arguments (``tables``, ``additional_tables``,
        ``destination_schema``, ...) and BaseOperator's; ``task_id`` defaults to ``sync_airflow_db``.
    """

    #: The destination kind of the subclass.
    warehouse: str

    def __init__(
        self,
        *,
        service_connection_name: str = DEFAULT_SERVICE_CONNECTION,
        connection_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("task_id", "sync_airflow_db")
        given = kwargs.pop("db_type", self.warehouse)
        if not isinstance(given, str) or given.strip().lower() != self.warehouse:
            raise ValueError(
                f"Task {kwargs['task_id']!r}: this operator syncs to {self.warehouse}; db_type={given!r} "
                "contradicts it. Use DatacovesDataSyncOperator (or @task.datacoves_airflow_db_sync) with "
                "that db_type"
            )
        super().__init__(
            db_type=self.warehouse,
            connection_id=connection_id,
            service_connection_name=None if connection_id else service_connection_name,
            **kwargs,
        )


class DatacovesDataSyncOperatorSnowflake(_DocumentedDataSyncOperator):
    """Sync Airflow's database to Snowflake (the documented operator).

    :param kwargs: ``service_connection_name`` (default ``airflow_db_load``: its ACCOUNT, USER,
        PASSWORD or PRIVATE_KEY, DATABASE, ROLE, WAREHOUSE variables) or ``connection_id`` (an
        Airflow Snowflake connection), and every :class:`DatacovesDataSyncOperator` argument.
    """

    warehouse = "snowflake"


class DatacovesDataSyncOperatorRedshift(_DocumentedDataSyncOperator):
    """Sync Airflow's database to Redshift (the documented operator).

    :param kwargs: ``service_connection_name`` (default ``airflow_db_load``: its HOST, USER,
        PASSWORD, DATABASE and optional PORT variables) or ``connection_id`` (an Airflow Redshift
        connection), and every :class:`DatacovesDataSyncOperator` argument.
    """

    warehouse = "redshift"
