"""One-task DAGs built in the test process as parsing a DAG file builds them: what our operators and
decorators check at parse time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.decorators import dag, task
from pendulum import datetime


def operator_dag(operator: Callable[..., object], **kwargs: Any) -> Any:
    """A DAG holding the one task ``operator(**kwargs)``.

    :param operator: the operator class.
    :param kwargs: its arguments.
    """

    @dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
    def parse_check():
        operator(**kwargs)

    return parse_check()


def decorated_dag(decorator: str, returns: str | None, task_id: str = "t", **kwargs: Any) -> Any:
    """A DAG holding the one task ``@task.<decorator>(**kwargs)`` whose function returns ``returns``.

    :param decorator: the decorator's name under ``task`` (``datacoves_bash``...).
    :param returns: what the task's function returns (the command, for bash and dbt tasks).
    :param task_id: the task's id.
    :param kwargs: the decorator's arguments.
    """

    @dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
    def parse_check_decorated():
        @getattr(task, decorator)(task_id=task_id, **kwargs)
        def t() -> str | None:
            return returns

        t()

    return parse_check_decorated()
