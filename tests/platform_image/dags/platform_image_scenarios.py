"""One DAG for the platform-image line (tests only): a bash task, a dbt task, a task reading a
Datacoves secret through DatacovesSecretsBackend, and a Teams notification, in one Airflow start-up.

The test sets DATACOVES__REPO_PATH to a copy of example_dags/demo_repo, the dbt virtualenv, the
secrets backend and the connections through environment variables, and reads what the tasks wrote
into $EVIDENCE.
"""

from __future__ import annotations

import hashlib
import os

from airflow.decorators import dag, task
from airflow.models import Variable
from pendulum import datetime

from notifiers.datacoves.ms_teams import MSTeamsNotifier

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0})
def platform_image():
    @task.datacoves_bash
    def bash_in_copy() -> str:
        return (
            f'pwd > {EVIDENCE}/bash_pwd && echo "$DATACOVES__REPO_PATH" > {EVIDENCE}/bash_repo_path && '
            f"echo written > scratch.txt && cat scratch.txt > {EVIDENCE}/bash_wrote"
        )

    @task.datacoves_dbt(connection_id="duckdb_main", project_dir="transform")
    def dbt_build() -> str:
        return f"dbt build -s +stg_customers && pwd > {EVIDENCE}/dbt_pwd"

    @task(
        on_success_callback=MSTeamsNotifier(
            connection_id="teams_alerts", title="platform-image-alert", message="{{ ti.task_id }} done"
        )
    )
    def read_secret() -> None:
        value = Variable.get("datacoves-mayras_secret")
        with open(f"{EVIDENCE}/secret_digest", "w") as fh:
            fh.write(hashlib.sha256(value.encode()).hexdigest())

    bash_in_copy() >> dbt_build() >> read_secret()


platform_image()
