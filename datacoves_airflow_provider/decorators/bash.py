"""``@task.datacoves_bash``: the function returns a command, which runs like DatacovesBashOperator."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from datacoves_airflow_provider.compat import SET_DURING_EXECUTION, DecoratedOperator, TaskDecorator
from datacoves_airflow_provider.decorators.base import call_decorated_function, make_task_decorator
from datacoves_airflow_provider.exceptions import InvalidArgumentTypeError
from datacoves_airflow_provider.operators.bash import DatacovesBashOperator

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context

__all__ = ["CommandDecoratedOperator", "call_for_command", "datacoves_bash_task"]


def call_for_command(
    operator: DecoratedOperator,
    context: Context,
    decorator: str,
    overrides: Mapping[str, Any] | None = None,
) -> str:
    """Call the decorated function with the task context and return the command it built.

    :param operator: the decorated operator.
    :param context: the task context.
    :param decorator: the decorator's name, for the error message.
    :param overrides: keyword arguments that replace the ones the DAG passed (for this call only).
    """
    command = call_decorated_function(operator, context, overrides)
    if not isinstance(command, str) or not command.strip():
        raise InvalidArgumentTypeError(
            f"The function decorated with {decorator} (task {operator.task_id!r}) must return the "
            f"command to run as a non-empty string; it returned {type(command).__name__} {command!r:.200}"
        )
    return command


class CommandDecoratedOperator(DecoratedOperator):
    """Base of the decorated operators whose function returns a command (bash and dbt).

    The command field holds the ``SET_DURING_EXECUTION`` sentinel until the task runs, so the DAG
    serialises the same on every parse; at run time the function is called, its command rendered,
    and the operator runs it. Combine with the operator class: ``class X(CommandDecoratedOperator,
    SomeOperator)``, and set ``custom_operator_name``.

    :param python_callable: the decorated function; it returns the command.
    :param op_args: positional arguments for the function (templated).
    :param op_kwargs: keyword arguments for the function (templated).
    """

    overwrite_rtif_after_execution: bool = True
    custom_operator_name: str
    bash_command: Any

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

    def resolve_command(self, context: Context, found_files: Sequence[str] = ()) -> str:
        """Call the function (once the repository copy is ready), then render its command.

        :param context: the task context.
        :param found_files: artifacts downloaded for this try, for :meth:`callable_overrides`.
        """
        overrides = self.callable_overrides(found_files)
        self.bash_command = call_for_command(self, context, self.custom_operator_name, overrides)
        self.render_template_fields(context)
        return super().resolve_command(context, found_files)  # type: ignore[misc]

    def callable_overrides(self, found_files: Sequence[str]) -> dict[str, Any]:
        """Keyword arguments to call the function with instead of the DAG's; none by default.

        :param found_files: artifacts downloaded for this try.
        """
        return {}


class _DatacovesBashDecoratedOperator(CommandDecoratedOperator, DatacovesBashOperator):
    """The operator behind ``@task.datacoves_bash``."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *DatacovesBashOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **DatacovesBashOperator.template_fields_renderers,
    }
    custom_operator_name: str = "@task.datacoves_bash"


def datacoves_bash_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """``@task.datacoves_bash``: run the command the function returns in a copy of the repository.

    Takes every :class:`~datacoves_airflow_provider.operators.bash.DatacovesBashOperator` argument.

    :param python_callable: the decorated function.
    :param kwargs: operator arguments.
    """
    return make_task_decorator(_DatacovesBashDecoratedOperator, python_callable, kwargs)
