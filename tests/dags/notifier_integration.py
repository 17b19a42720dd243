"""One callback for every environment: ``inform_failure`` from ``datacoves_airflow_provider.notifiers``
alerting through the integration ``DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION`` names (tests only).

The test runs this DAG with the variable set to `` Teams ``. Some tasks' callbacks run under
another value (``with_integration`` sets it around the real callback, as another environment would
have it): the file is parsed once, and each callback reads the variable when it runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.notifiers import inform_failure
from datacoves_airflow_provider.notifiers.ms_teams import inform_failure as teams_inform_failure

VARIABLE = "DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION"


def with_integration(value: str | None, callback: Callable[..., Any]) -> Callable[..., None]:
    """``callback`` run with the variable set to ``value`` (None: unset), then restored."""

    def run(*args: Any) -> None:
        before = os.environ.get(VARIABLE)
        if value is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = value
        try:
            callback(*args)
        finally:
            if before is None:
                os.environ.pop(VARIABLE, None)
            else:
                os.environ[VARIABLE] = before

    return run


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    default_args={"retries": 0},
    on_failure_callback=inform_failure(
        title="integration-dag-failure", message="DAG {{ dag.dag_id }} failed"
    ),
)
def notify_integration():
    @task(on_failure_callback=inform_failure)
    def fail_bare() -> None:
        raise ValueError("bare callback, integration from the process")

    @task(
        on_failure_callback=inform_failure(
            connection_id="teams alerts", title="integration-emphasis", theme_color="emphasis"
        )
    )
    def fail_emphasis() -> None:
        raise ValueError("emphasis on Teams")

    @task(on_failure_callback=with_integration("SLACK", inform_failure))
    def fail_slack() -> None:
        raise ValueError("bare callback on a Slack environment")

    @task(
        on_failure_callback=with_integration(
            "slack", inform_failure(title="integration-emphasis-slack", theme_color="emphasis")
        )
    )
    def fail_slack_emphasis() -> None:
        raise ValueError("emphasis on Slack")

    @task(on_failure_callback=with_integration("", inform_failure))
    def fail_empty() -> None:
        raise ValueError("no integration")

    @task(on_failure_callback=with_integration(None, inform_failure))
    def fail_unset() -> None:
        raise ValueError("no integration variable")

    @task(on_failure_callback=with_integration(" Discord ", inform_failure))
    def fail_unknown() -> None:
        raise ValueError("an integration this provider does not know")

    @task(on_failure_callback=teams_inform_failure(connection_id="teams alerts", title="teams-inform-kwargs"))
    def fail_teams_only() -> None:
        raise ValueError("the Teams-only callback called with arguments")

    fail_bare()
    fail_emphasis()
    fail_slack()
    fail_slack_emphasis()
    fail_empty()
    fail_unset()
    fail_unknown()
    fail_teams_only()


notify_integration()
