"""Alert notifiers for DAG and task callbacks: ``MSTeamsNotifier`` (``.ms_teams``), its Slack
twin ``SlackNotifier`` (``.slack``), and the callbacks that alert through whichever integration the
Datacoves environment has (``.integration``)::

    from datacoves_airflow_provider.notifiers import inform_failure

    @dag(on_failure_callback=inform_failure, ...)

``inform_success``, ``inform_failure``, ``inform_retry`` and ``inform_sla_miss`` here are the
integration ones (``DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION``, read when the callback runs);
the Teams-only and Slack-only ones stay in ``.ms_teams`` and ``.slack``.

Every name is loaded on first use, so importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datacoves_airflow_provider.notifiers.integration import (
        IntegrationNotifier,
        inform_failure,
        inform_retry,
        inform_sla_miss,
        inform_success,
    )
    from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier
    from datacoves_airflow_provider.notifiers.slack import SlackNotifier

__all__ = [
    "IntegrationNotifier",
    "MSTeamsNotifier",
    "SlackNotifier",
    "inform_failure",
    "inform_retry",
    "inform_sla_miss",
    "inform_success",
]

_MODULES = {
    "MSTeamsNotifier": "ms_teams",
    "SlackNotifier": "slack",
    "IntegrationNotifier": "integration",
    "inform_failure": "integration",
    "inform_retry": "integration",
    "inform_sla_miss": "integration",
    "inform_success": "integration",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
