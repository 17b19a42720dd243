"""Fault scenarios (tests only), run with ``airflow dags test``.

``fault_teams_down``: a task that succeeds and one that fails, each with an MS Teams notifier whose
webhook (connection ``teams_down``) does not answer; the task states must be the tasks' own.

``fault_secrets_hang``: a task reads a variable from the Datacoves secrets manager, whose API accepts
the connection and never answers; a task that needs no secret runs after it regardless.
"""

from __future__ import annotations

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier

TEAMS_DOWN = MSTeamsNotifier(connection_id="teams_down", title="teams-down", retries=1, timeout=5)


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def fault_teams_down():
    @task(on_success_callback=TEAMS_DOWN)
    def succeeds() -> str:
        return "ok"

    @task(on_failure_callback=TEAMS_DOWN)
    def fails() -> None:
        raise RuntimeError("the task's own failure")

    succeeds()
    fails()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def fault_secrets_hang():
    @task.datacoves_bash
    def reads_a_secret() -> str:
        from airflow.models import Variable

        Variable.get("datacoves-slow_secret")
        return "echo never"

    @task.datacoves_bash(trigger_rule="all_done")
    def needs_no_secret() -> str:
        return "echo still working"

    reads_a_secret() >> needs_no_secret()


fault_teams_down()
fault_secrets_hang()
