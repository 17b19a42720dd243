"""``@task.datacoves_airflow_db_sync``: sync Airflow's metadata database into a warehouse.

The decorated function's body runs first (it may do nothing: the docs' examples ``pass``); its
return value is not used. The operator class depends on ``db_type``
(``_DatacovesDataSyncSnowflakeDecoratedOperator`` for Snowflake, ...), so DAG checks that allow
operators by class name keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from datacoves_airflow_provider import validation
from datacoves_airflow_provider.compat import DecoratedOperator, TaskDecorator
from datacoves_airflow_provider.decorators.base import call_decorated_function, make_task_decorator
from datacoves_airflow_provider.operators.data_sync import DatacovesDataSyncOperator

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context

__all__ = ["DataSyncDecoratedOperator", "datacoves_airflow_db_sync_task"]


class DataSyncDecoratedOperator(DecoratedOperator, DatacovesDataSyncOperator):
    """Base of the operators behind ``@task.datacoves_airflow_db_sync`` (one subclass per ``db_type``).

    :param python_callable: the decorated function (called before the sync; may do nothing).
    :param kwargs: :class:`~datacoves_airflow_provider.operators.data_sync.DatacovesDataSyncOperator`
        and BaseOperator arguments.
    """

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *DatacovesDataSyncOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {**DecoratedOperator.template_fields_renderers}
    custom_operator_name: str = "@task.datacoves_airflow_db_sync"

    def execute(self, context: Context) -> dict[str, Any]:
        """Call the function, then sync; return the sync's summary.

        :param context: the task context.
        """
        returned = call_decorated_function(self, context)
        if returned is not None:
            self.log.warning(
                "The function decorated with %s returned %s; the return value is not used (the task's "
                "XCom is the sync summary)",
                self.custom_operator_name,
                type(returned).__name__,
            )
        return DatacovesDataSyncOperator.execute(self, context)


class _DatacovesDataSyncSnowflakeDecoratedOperator(DataSyncDecoratedOperator):
    """``@task.datacoves_airflow_db_sync(db_type="snowflake", ...)``."""


class _DatacovesDataSyncRedshiftDecoratedOperator(DataSyncDecoratedOperator):
    """``@task.datacoves_airflow_db_sync(db_type="redshift", ...)``."""


class _DatacovesDataSyncPostgresDecoratedOperator(DataSyncDecoratedOperator):
    """``@task.datacoves_airflow_db_sync(db_type="postgres", ...)``."""


class _DatacovesDataSyncDuckDBDecoratedOperator(DataSyncDecoratedOperator):
    """``@task.datacoves_airflow_db_sync(db_type="duckdb", ...)``."""


_OPERATOR_BY_DB_TYPE: dict[str, type[DataSyncDecoratedOperator]] = {
    "snowflake": _DatacovesDataSyncSnowflakeDecoratedOperator,
    "redshift": _DatacovesDataSyncRedshiftDecoratedOperator,
    "postgres": _DatacovesDataSyncPostgresDecoratedOperator,
    "duckdb": _DatacovesDataSyncDuckDBDecoratedOperator,
}


def datacoves_airflow_db_sync_task(
    python_callable: Callable[..., Any] | None = None, **kwargs: Any
) -> TaskDecorator:
    """``@task.datacoves_airflow_db_sync``: copy Airflow's metadata database into a warehouse.

    :param python_callable: the decorated function (its body may just ``pass``).
    :param kwargs: ``db_type`` (required: snowflake, redshift, postgres or duckdb), ``connection_id``,
        ``destination_schema``, ``tables``, ``additional_tables`` and every other
        :class:`~datacoves_airflow_provider.operators.data_sync.DatacovesDataSyncOperator` argument.
    """
    db_type = validation.check_db_sync_decorator_arguments(kwargs)
    return make_task_decorator(_OPERATOR_BY_DB_TYPE[db_type], python_callable, kwargs)
