"""Alert notifiers for DAG and task callbacks: ``MSTeamsNotifier`` (``.ms_teams``) and its Slack
twin ``SlackNotifier`` (``.slack``).

Both names are importable from here too; they are loaded on first use, so importing this package
costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier
    from datacoves_airflow_provider.notifiers.slack import SlackNotifier

__all__ = ["MSTeamsNotifier", "SlackNotifier"]

_MODULES = {"MSTeamsNotifier": "ms_teams", "SlackNotifier": "slack"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
