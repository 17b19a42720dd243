"""What the ``@task.datacoves_*`` decorators share: calling the decorated function when the task
runs, and making a decorator of a decorated operator class.

This module imports no operator, so that each decorator pays only for its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.compat import (
    DecoratedOperator,
    TaskDecorator,
    context_merge,
    determine_kwargs,
    task_decorator_factory,
)

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context

__all__ = ["call_decorated_function", "make_task_decorator"]


def call_decorated_function(
    operator: DecoratedOperator, context: Context, overrides: Mapping[str, Any] | None = None
) -> Any:
    """Call the decorated function as Airflow's decorated operators do: with its ``op_args``, its
    ``op_kwargs``, and the context variables it names; return what it returned.

    :param operator: the decorated operator.
    :param context: the task context.
    :param overrides: keyword arguments that replace the ones the DAG passed (for this call only).
    """
    context_merge(context, {**operator.op_kwargs, **(overrides or {})})
    kwargs = determine_kwargs(operator.python_callable, operator.op_args, context)
    return operator.python_callable(*operator.op_args, **kwargs)


def make_task_decorator(
    operator_class: type[DecoratedOperator],
    python_callable: Callable[..., Any] | None,
    kwargs: Mapping[str, Any],
) -> TaskDecorator:
    """``@task.<name>`` for ``operator_class``, used bare or with arguments.

    :param operator_class: the decorated operator class the tasks are made of.
    :param python_callable: the decorated function (None when the decorator is called with arguments).
    :param kwargs: the operator arguments given to the decorator.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=operator_class,
        **kwargs,
    )
