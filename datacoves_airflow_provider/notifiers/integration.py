"""Alerts through whichever integration the Datacoves environment has: one callback for every
environment.

.. code-block:: python

    from datacoves_airflow_provider.notifiers import inform_failure

    @dag(on_failure_callback=inform_failure, ...)  # or inform_failure(message="...", theme_color="emphasis")

Datacoves sets ``DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION`` on every Airflow to ``SLACK``,
``TEAMS`` or nothing. The variable is read when the callback runs, not when the DAG file is
parsed, so one DAG file alerts through Teams on one environment and through Slack on another:

- ``TEAMS`` (any case, surrounding spaces ignored): :class:`MSTeamsNotifier`, connection ``ms_teams``
  (found as ``MS_TEAMS``) unless ``connection_id`` says otherwise;
- ``SLACK``: :class:`SlackNotifier`, connection ``slack`` (found as ``SLACK``) unless
  ``connection_id`` says otherwise;
- unset or empty: no alert, and one INFO line saying so and what to set;
- anything else: no alert, and one WARNING naming the variable and the accepted values.

The callback never raises (like the notifiers it hands over to), so an alert never changes a task's
or a DAG run's state.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.notifiers.callbacks import inform_callbacks

if TYPE_CHECKING:
    from datacoves_airflow_provider.notifiers.base import AlertNotifier

__all__ = [
    "INTEGRATIONS",
    "INTEGRATION_VARIABLE",
    "IntegrationNotifier",
    "inform_failure",
    "inform_retry",
    "inform_sla_miss",
    "inform_success",
    "integration_name",
]

#: The variable Datacoves sets to the environment's notification integration.
INTEGRATION_VARIABLE = "DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION"
#: Its accepted values (case-insensitive), and the notifier each one selects.
INTEGRATIONS = ("SLACK", "TEAMS")
#: Arguments only the Teams notifier takes (left out when the integration is Slack).
_TEAMS_ONLY = frozenset({"webhook_kind"})

log = logging.getLogger(__name__)


def integration_name() -> str | None:
    """The environment's notification integration now: ``SLACK``, ``TEAMS``, ``""`` (unset or empty)
    or, for any other value, None.

    :returns: the upper-cased, stripped value when it is one of :data:`INTEGRATIONS`, ``""`` when
        there is none, None when the value is not one this provider knows.
    """
    value = os.environ.get(INTEGRATION_VARIABLE, "").strip().upper()
    if not value:
        return ""
    return value if value in INTEGRATIONS else None


class IntegrationNotifier:
    """A callback that alerts through the environment's integration (see the module's docs).

    Every argument is checked when the notifier is created (DAG parse time), against both
    notifiers: a bad ``theme_color`` fails the DAG file on every environment, not only on the
    one whose integration would have used it.

    :param event: force the outcome reported (``success``, ``failure``, ``retry``, ``sla_miss``);
        default: read from the context.
    :param kwargs: :class:`~datacoves_airflow_provider.notifiers.ms_teams.MSTeamsNotifier` /
        :class:`~datacoves_airflow_provider.notifiers.slack.SlackNotifier` arguments
        (``connection_id``, ``message``, ``theme_color``, ``title``, ...); ``connection_id``
        applies to whichever integration is chosen (default ``ms_teams`` for Teams, ``slack`` for
        Slack); ``webhook_kind`` applies to Teams only.
    """

    def __init__(self, *, event: str | None = None, **kwargs: Any) -> None:
        from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier
        from datacoves_airflow_provider.notifiers.slack import SlackNotifier

        self.event = event
        self.kwargs = dict(kwargs)
        slack_kwargs = {k: v for k, v in kwargs.items() if k not in _TEAMS_ONLY}
        self.notifiers: dict[str, AlertNotifier] = {
            "TEAMS": MSTeamsNotifier(event=event, **kwargs),
            "SLACK": SlackNotifier(event=event, **slack_kwargs),
        }

    def notifier(self) -> AlertNotifier | None:
        """The notifier of the environment's integration now, or None when it names none this
        provider knows (nothing is logged)."""
        name = integration_name()
        return self.notifiers.get(name) if name else None

    def __call__(self, *args: Any) -> None:
        """Alert through the environment's integration; log, never raise.

        :param args: what Airflow passes to callbacks: the context, or Airflow 2's five SLA-miss
            arguments.
        """
        try:
            where = _describe(args)
            raw = os.environ.get(INTEGRATION_VARIABLE)
            name = integration_name()
            if name == "":
                log.info(
                    "No alert sent for %s: %s is %s, so this environment has no notification "
                    "integration. Set it to SLACK or TEAMS (Datacoves sets it when the environment "
                    "has a Slack or MS Teams integration), or use MSTeamsNotifier/SlackNotifier "
                    "directly.",
                    where,
                    INTEGRATION_VARIABLE,
                    "not set" if raw is None else "empty",
                )
                return
            if name is None:
                log.warning(
                    "No alert sent for %s: %s=%r is not a notification integration this provider "
                    "knows; accepted values: %s (case-insensitive).",
                    where,
                    INTEGRATION_VARIABLE,
                    (raw or "").strip()[:100],
                    ", ".join(INTEGRATIONS),
                )
                return
            self.notifiers[name](*args)
        except Exception as err:  # never fail the callback (the notifiers log their own errors)
            log.error("Alert through %s was not sent: %s", INTEGRATION_VARIABLE, _safe_error(err))

    def __repr__(self) -> str:
        return f"IntegrationNotifier(event={self.event!r})"


def _describe(args: tuple[Any, ...]) -> str:
    """The callback's DAG, task and run, for a log line (best effort)."""
    from datacoves_airflow_provider.notifiers.base import callback_context, describe_context

    try:
        return describe_context(callback_context(args))
    except Exception:
        return "this callback"


def _safe_error(err: BaseException) -> str:
    from datacoves_airflow_provider.notifiers.base import safe_error

    return safe_error(err)


def _inform(event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> IntegrationNotifier | None:
    """Called with the callback's arguments: alert now. Called with notifier arguments only: the
    notifier (checked at parse time)."""
    if not args:
        return IntegrationNotifier(event=event, **kwargs)
    try:
        notifier = IntegrationNotifier(event=event, **kwargs)
    except Exception as err:  # bad arguments through functools.partial: found only now
        log.error("Alert through %s was not sent: %s", INTEGRATION_VARIABLE, _safe_error(err))
        return None
    notifier(*args)
    return None


inform_success, inform_failure, inform_retry, inform_sla_miss = inform_callbacks(
    _inform, notifier="IntegrationNotifier", module=__name__, where=" through the environment's integration"
)
