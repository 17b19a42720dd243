"""``@task.datacoves_dbt``: the function returns a dbt command, which runs like DatacovesDbtOperator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from datacoves_airflow_provider.compat import DecoratedOperator, TaskDecorator, task_decorator_factory
from datacoves_airflow_provider.decorators.bash import CommandDecoratedOperator
from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

__all__ = ["datacoves_dbt_task"]


class _DatacovesDbtDecoratedOperator(CommandDecoratedOperator, DatacovesDbtOperator):
    """The operator behind ``@task.datacoves_dbt``."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *DatacovesDbtOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **DatacovesDbtOperator.template_fields_renderers,
    }
    custom_operator_name: str = "@task.datacoves_dbt"


def datacoves_dbt_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """``@task.datacoves_dbt``: run the dbt command the function returns in the project's folder.

    Takes every :class:`~datacoves_airflow_provider.operators.dbt.DatacovesDbtOperator` argument.

    :param python_callable: the decorated function.
    :param kwargs: operator arguments.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_DatacovesDbtDecoratedOperator,
        **kwargs,
    )
