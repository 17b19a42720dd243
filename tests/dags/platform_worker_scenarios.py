"""A Datacoves worker's day, unchanged DAG code (tests only; tests/test_platform_worker.py runs it
from inside the read-only clone, as the platform's git-sync does).

- ``bash_in_copy`` writes in its copy and reads ``${DATACOVES__REPO_PATH}`` and ``${DATACOVES__DBT_HOME}``.
- ``dbt_customers`` then ``dbt_build``: the docs' retry DAG with ``dbt_api_enabled=True`` and no
  ``project_dir`` (``DATACOVES__DBT_HOME`` names the project). The first try of ``dbt_build`` fails
  (payments have not landed), its retry reruns only what failed. Both tasks keep their own run
  results in the platform's dbt API, and both upload their manifest.
- ``read_secrets`` reads a ``datacoves-`` variable and connection through the secrets backend.
- ``platform_alert``: a failing task whose one callback alerts through the environment's integration.

Evidence (paths, SHA-256 of secret values) goes to ``${EVIDENCE}``; no value is ever printed.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.notifiers import inform_failure

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# retries come from the platform's AIRFLOW__CORE__DEFAULT_TASK_RETRIES (2); only the delay is ours
@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    default_args={"retry_delay": timedelta(seconds=5)},
)
def platform_worker():
    @task.datacoves_bash
    def bash_in_copy() -> str:
        return (
            f'pwd -P > {EVIDENCE}/cwd && echo "${{DATACOVES__REPO_PATH}}" > {EVIDENCE}/repo_path'
            f' && echo written > "${{DATACOVES__REPO_PATH}}/written_by_task.txt"'
            f' && cat "${{DATACOVES__REPO_PATH}}/written_by_task.txt" > {EVIDENCE}/written'
            f' && cd "${{DATACOVES__DBT_HOME}}" && test -f dbt_project.yml && pwd -P > {EVIDENCE}/dbt_home'
        )

    @task.datacoves_dbt(connection_id="main", dbt_api_enabled=True)
    def dbt_customers() -> str:
        return "dbt build -s customers"

    @task.datacoves_dbt(connection_id="main", dbt_api_enabled=True, download_run_results=True)
    def dbt_build(expected_files: list = []):  # noqa: B006 (the docs' signature)
        if expected_files:
            return "dbt build -s result:error+ --state logs"
        return "dbt build"

    @task
    def read_secrets() -> None:
        from airflow.hooks.base import BaseHook
        from airflow.models import Variable

        value = Variable.get("datacoves-platform_var")
        conn = BaseHook.get_connection("datacoves-platform_conn")
        with open(f"{EVIDENCE}/datacoves-platform_var", "w") as out:
            out.write(_digest(value))
        with open(f"{EVIDENCE}/datacoves-platform_conn", "w") as out:
            out.write(_digest(f"{conn.host}|{conn.login}|{conn.password}|{conn.extra_dejson.get('role')}"))

    bash_in_copy()
    dbt_customers() >> dbt_build(expected_files=["run_results.json"])
    read_secrets()


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    default_args={"retries": 0, "on_failure_callback": inform_failure},
)
def platform_alert():
    @task.datacoves_bash
    def load_orders() -> str:
        return "echo 'orders file is missing' >&2; exit 3"

    load_orders()


platform_worker()
platform_alert()
