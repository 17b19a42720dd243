"""The ``inform_success``, ``inform_failure``, ``inform_retry`` and ``inform_sla_miss`` callables,
made once for every notifier module (``.ms_teams``, ``.slack``, ``.integration``).

Each is a plain function taking the callback's arguments plus any notifier argument. Called with
the callback's arguments it alerts now; called with notifier arguments only
(``on_failure_callback=inform_failure(connection_id="MS_TEAMS")``) it returns the notifier,
checked at parse time; ``functools.partial(inform_failure, connection_id="MS_TEAMS")`` works too.

This module imports nothing from Airflow, so a notifier module that is cheap to import stays so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["INFORM_EVENTS", "inform_callbacks"]

N = TypeVar("N")

#: The outcome each ``inform_<event>`` reports, and what its alert shows.
INFORM_EVENTS = {
    "success": "a success alert",
    "failure": "a failure alert (with the exception)",
    "retry": "a retry alert (with the exception and the try number)",
    "sla_miss": "an SLA-miss alert (Airflow 2's ``sla_miss_callback``; Airflow 3 has no SLAs)",
}

_DOC = """Callback: {what}{where}.

``{hook}=inform_{event}``; ``inform_{event}(**arguments)`` returns the notifier
(arguments checked at parse time); ``functools.partial(inform_{event}, **arguments)`` works too.

:param args: the callback's arguments: the context, or Airflow 2's five SLA-miss arguments
    (``dag, task_list, blocking_task_list, slas, blocking_tis``); none: return the notifier
    instead of alerting.
:param kwargs: :class:`{notifier}` arguments (``connection_id``, ``message``, ``theme_color``,
    ``title``...).
"""


def inform_callbacks(
    inform: Callable[[str, tuple[Any, ...], dict[str, Any]], N | None],
    *,
    notifier: str,
    module: str,
    where: str = "",
) -> tuple[
    Callable[..., N | None], Callable[..., N | None], Callable[..., N | None], Callable[..., N | None]
]:
    """``inform_success``, ``inform_failure``, ``inform_retry`` and ``inform_sla_miss`` of a
    notifier module, in that order. Each is named and documented as if written in ``module`` (so
    ``functools.partial`` of one pickles by reference, like a function written there).

    :param inform: does the work: ``inform(event, args, kwargs)`` alerts now when ``args`` holds
        the callback's arguments, else returns the notifier.
    :param notifier: the notifier class's name, for the docstrings.
    :param module: the module the callables belong to (its ``__name__``).
    :param where: how the alert is sent, for the docstrings (`` through the environment's
        integration``).
    """

    def make(event: str) -> Callable[..., N | None]:
        def callback(*args: Any, **kwargs: Any) -> N | None:
            return inform(event, args, kwargs)

        callback.__name__ = callback.__qualname__ = f"inform_{event}"
        callback.__module__ = module
        callback.__doc__ = _DOC.format(
            what=INFORM_EVENTS[event],
            where=where,
            hook="sla_miss_callback" if event == "sla_miss" else f"on_{event}_callback",
            event=event,
            notifier=notifier,
        )
        return callback

    return make("success"), make("failure"), make("retry"), make("sla_miss")
