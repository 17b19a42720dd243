"""``@task.datacoves_dbt``: the function returns a dbt command, which runs like DatacovesDbtOperator."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from datacoves_airflow_provider.compat import (
    SET_DURING_EXECUTION,
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)
from datacoves_airflow_provider.decorators.bash import call_for_command
from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context

__all__ = ["datacoves_dbt_task"]


class _DatacovesDbtDecoratedOperator(DecoratedOperator, DatacovesDbtOperator):
    """The operator behind ``@task.datacoves_dbt``.

    :param python_callable: the decorated function; it returns the dbt command.
    :param op_args: positional arguments for the function (templated).
    :param op_kwargs: keyword arguments for the function (templated).
    """

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *DatacovesDbtOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **DatacovesDbtOperator.template_fields_renderers,
    }
    custom_operator_name: str = "@task.datacoves_dbt"
    overwrite_rtif_after_execution: bool = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            bash_command=SET_DURING_EXECUTION,
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        self.bash_command = call_for_command(self, context, self.custom_operator_name)
        self.render_template_fields(context)
        return super().execute(context)


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
