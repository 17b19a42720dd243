"""What the secrets-leak audit runs besides the example DAGs (tests only): a dbt task that uploads its
artifacts to the dbt API (the token's path), and a task that reads a secret variable and a secret
connection from the metadata database and uses them the way DAG code does."""

from __future__ import annotations

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def leak_audit_extras():
    @task.datacoves_dbt(
        connection_id="main",
        project_dir="transform",
        dbt_api_enabled=True,
        upload_static_artifacts=True,
        upload_additional_files=["target/manifest.json"],
    )
    def dbt_with_artifacts() -> str:
        return "dbt run -s stg_customers"

    @task.datacoves_bash
    def use_secret_variable_and_connection() -> str:
        import shlex

        from airflow.hooks.base import BaseHook
        from airflow.models import Variable

        api_key = Variable.get("audit_api_key")
        password = BaseHook.get_connection("main").password
        # the secrets reach the command (and its rendered template); the log must show them masked
        return f"echo key={shlex.quote(api_key)} password={shlex.quote(password or '')} | wc -c"

    dbt_with_artifacts()
    use_secret_variable_and_connection()


leak_audit_extras()
