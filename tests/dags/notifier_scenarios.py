"""Every callback kind of MSTeamsNotifier / SlackNotifier in two DAGs (tests only).

Each notifier carries a distinct ``title`` (its tag) so the test can find its request on the
recording server. Connections come from AIRFLOW_CONN_* variables the test sets.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import partial
from pathlib import Path

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.notifiers import SlackNotifier
from notifiers.datacoves.ms_teams import MSTeamsNotifier, inform_failure, inform_success

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
#: quotes, a newline, emoji, JSON-looking text, and far too long
NASTY = 'He said "hi" & left\nline two ✅🚀 {"injected": true} <b>' + "x" * 6000 + " THE END"


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    on_success_callback=MSTeamsNotifier(
        connection_id="teams alerts",  # found as TEAMS_ALERTS
        title="dag-success-single",
        message='DAG {{ dag.dag_id }} succeeded at {{ ts }} "quoted" ✅',
    ),
    on_failure_callback=MSTeamsNotifier(connection_id="teams alerts", title="unexpected-dag-failure"),
)
def notify_success():
    @task(
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=MSTeamsNotifier(
            connection_id="teams alerts",
            title="task-retry",
            message="{{ ti.task_id }} try {{ ti.try_number }} failed: {{ exception }}",
        ),
        on_success_callback=[
            MSTeamsNotifier(connection_id="teams alerts", title="task-success-list-teams"),
            SlackNotifier(connection_id="slack", title="task-success-list-slack"),
            partial(
                inform_success,
                connection_id="TEAMS_CONNECTOR",
                title="task-success-connector",
                color="0000FF",
            ),
        ],
    )
    def flaky() -> None:
        marker = Path(EVIDENCE) / "flaky-tried"
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("first try fails on purpose")

    @task(
        on_success_callback=MSTeamsNotifier(connection_id="teams_broken", title="broken-webhook", retries=1)
    )
    def alert_fails() -> None:
        """Its webhook answers 500: the alert is logged as not sent, the task stays a success."""

    flaky() >> alert_fails()


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    default_args={
        "retries": 0,
        "on_failure_callback": MSTeamsNotifier(
            connection_id="TEAMS_ALERTS",
            title="task-failure-default-args",
            message="Task {{ ti.task_id }} failed: {{ exception }}",
        ),
    },
    on_failure_callback=[
        MSTeamsNotifier(connection_id="teams alerts", title="dag-failure-list-teams", theme_color="accent"),
        SlackNotifier(connection_id="slack", title="dag-failure-list-slack"),
        partial(inform_failure, connection_id="teams alerts", title="dag-failure-inform"),
    ],
)
def notify_failure():
    @task
    def explode() -> None:
        raise ValueError(NASTY)

    explode()


notify_success()
notify_failure()
