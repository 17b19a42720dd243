"""The checks of the data-sync operators' and ``@task.datacoves_airflow_db_sync``'s arguments."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping
from typing import Any

from datacoves_airflow_provider.exceptions import InvalidArgumentError
from datacoves_airflow_provider.validation.common import not_a_name

__all__ = [
    "DB_TYPES",
    "check_data_sync_names",
    "check_db_sync_decorator_arguments",
    "check_db_type",
    "check_lookback",
    "check_warehouse",
]

#: Destination kinds of the data sync; ``snowflake`` and ``redshift`` are the documented ones.
DB_TYPES = ("snowflake", "redshift", "postgres", "duckdb")


def check_db_type(db_type: Any, task_id: str = "?") -> str:
    """Return ``db_type`` lower-cased if it is a supported destination, else raise naming the choices.

    :param db_type: the destination kind the DAG asked for.
    :param task_id: the task, for the message.
    """
    if not isinstance(db_type, str) or db_type.strip().lower() not in DB_TYPES:
        raise InvalidArgumentError(
            f"Task {task_id!r}: db_type={db_type!r} is not supported; use one of "
            f"{', '.join(repr(t) for t in DB_TYPES)} (case does not matter)"
        )
    return db_type.strip().lower()


def check_data_sync_names(
    *,
    task_id: str,
    db_type: str,
    service_db_types: Collection[str],
    source_connection_id: object,
    connection_id: object,
    service_connection_name: object,
    destination_schema: object,
) -> None:
    """Check the data sync's source connection, and that it names its destination: an Airflow
    connection, or a service connection for a destination kind that has them, and a schema.

    :param task_id: named in the message.
    :param db_type: the checked destination kind (see :func:`check_db_type`).
    :param service_db_types: the destination kinds a service connection can reach.
    :param source_connection_id: see the operator.
    :param connection_id: see the operator.
    :param service_connection_name: see the operator.
    :param destination_schema: see the operator.
    """
    if not_a_name(source_connection_id):
        raise InvalidArgumentError(
            f"Task {task_id!r}: source_connection_id must name the connection to Airflow's "
            f"database, e.g. 'airflow_db', got {source_connection_id!r}; leave it out to use "
            "Airflow's own configuration"
        )
    if not_a_name(connection_id):
        raise InvalidArgumentError(
            f"Task {task_id!r}: connection_id must be a connection name, got {connection_id!r}"
        )
    if connection_id is None and service_connection_name is None:
        raise InvalidArgumentError(
            f"Task {task_id!r}: name the destination: connection_id='<Airflow connection>'"
            + (" or service_connection_name='<service connection>'" if db_type in service_db_types else "")
        )
    if connection_id is None and db_type not in service_db_types:
        raise InvalidArgumentError(
            f"Task {task_id!r}: service connections exist for Snowflake and Redshift only; "
            f"give db_type={db_type!r} an Airflow connection with connection_id="
        )
    if not_a_name(service_connection_name):
        raise InvalidArgumentError(
            f"Task {task_id!r}: service_connection_name must be a name like 'airflow_db_load', "
            f"got {service_connection_name!r}"
        )
    if not_a_name(destination_schema):
        raise InvalidArgumentError(
            f"Task {task_id!r}: destination_schema must be a non-empty schema name, got "
            f"{destination_schema!r}; leave it out for the default airflow-<environment slug>"
        )


def check_lookback(value: object, *, task_id: str) -> datetime.timedelta:
    """``incremental_lookback`` as a ``timedelta`` (a number is seconds); a negative one is refused.

    :param value: the argument as written in the DAG.
    :param task_id: named in the message.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.timedelta(seconds=value)
    if not isinstance(value, datetime.timedelta) or value.total_seconds() < 0:
        raise InvalidArgumentError(
            f"Task {task_id!r}: incremental_lookback must be a non-negative timedelta or "
            f"number of seconds, got {value!r}"
        )
    return value


def check_warehouse(given: object, *, warehouse: str, task_id: str) -> None:
    """Refuse a ``db_type`` that contradicts the documented operator's own warehouse.

    :param given: the ``db_type`` the DAG passed (the warehouse itself when it passed none).
    :param warehouse: the operator's destination kind.
    :param task_id: named in the message.
    """
    if not isinstance(given, str) or given.strip().lower() != warehouse:
        raise InvalidArgumentError(
            f"Task {task_id!r}: this operator syncs to {warehouse}; db_type={given!r} "
            "contradicts it. Use DatacovesDataSyncOperator (or @task.datacoves_airflow_db_sync) with "
            "that db_type"
        )


def check_db_sync_decorator_arguments(kwargs: Mapping[str, Any]) -> str:
    """The checked ``db_type`` of ``@task.datacoves_airflow_db_sync``, which needs one.

    :param kwargs: the decorator's keyword arguments.
    """
    if "db_type" not in kwargs:
        raise InvalidArgumentError(
            "@task.datacoves_airflow_db_sync needs db_type='snowflake' or 'redshift' (or 'postgres', "
            "'duckdb') and connection_id='<Airflow connection>'"
        )
    return check_db_type(kwargs["db_type"], kwargs.get("task_id", "?"))
