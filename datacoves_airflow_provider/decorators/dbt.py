"""``@task.datacoves_dbt``: the function returns a dbt command, which runs like DatacovesDbtOperator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from datacoves_airflow_provider import validation
from datacoves_airflow_provider.compat import DecoratedOperator, TaskDecorator
from datacoves_airflow_provider.dbt.artifacts import reduce_expected_files
from datacoves_airflow_provider.decorators.base import make_task_decorator
from datacoves_airflow_provider.decorators.bash import CommandDecoratedOperator
from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

#: The keyword argument through which the function learns which artifacts a try received.
EXPECTED_FILES = "expected_files"

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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        validation.check_expected_files(
            (self.op_kwargs or {}).get(EXPECTED_FILES),
            self.artifacts.downloaded_names(),
            task_id=self.task_id,
        )

    def callable_overrides(self, found_files: Sequence[str]) -> dict[str, Any]:
        """Pass ``expected_files`` reduced to the files actually downloaded for this try: empty on a
        first try, so the function returns its full command; the previous try's files on a retry.

        :param found_files: artifacts downloaded for this try.
        """
        expected = (self.op_kwargs or {}).get(EXPECTED_FILES)
        if not isinstance(expected, (list, tuple)):
            return {}
        reduced = reduce_expected_files(list(expected), found_files)
        self.log.info(
            "%s=%r (of %r): those were downloaded for this try", EXPECTED_FILES, reduced, list(expected)
        )
        return {EXPECTED_FILES: reduced}


def datacoves_dbt_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """``@task.datacoves_dbt``: run the dbt command the function returns in the project's folder.

    Takes every :class:`~datacoves_airflow_provider.operators.dbt.DatacovesDbtOperator` argument.

    :param python_callable: the decorated function.
    :param kwargs: operator arguments.
    """
    return make_task_decorator(_DatacovesDbtDecoratedOperator, python_callable, kwargs)
