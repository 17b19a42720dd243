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


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def leak_audit_masking():
    """Secrets whose names or shapes the masker does not recognise by itself: the leaves of a
    ``multiple_key_value`` Datacoves secret under plain keys, each line of a multi-line secret, and dbt
    overrides rendered from a variable whose name says nothing."""
    from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

    @task.datacoves_bash
    def multiple_key_value_secret() -> str:
        import json
        import shlex

        from airflow.models import Variable

        values = json.loads(Variable.get("datacoves-audit-multi"))
        # rendered into the command, printed, and its last line is the task's XCom
        return f"echo {shlex.quote(values['pw'])} {shlex.quote(values['apitok'])}"

    @task.datacoves_bash
    def multi_line_secret() -> str:
        import shlex

        from airflow.models import Variable

        text = Variable.get("datacoves-audit-multiline")
        # the XCom is the second line of the secret alone
        return f"printf '%s\\n' {shlex.quote(text)} | sed -n 2p"

    from datacoves_airflow_provider.operators.bash import DatacovesBashOperator

    # a leaf rendered straight into a template field (the rendered-fields table)
    DatacovesBashOperator(
        task_id="leaf_in_a_rendered_field",
        bash_command="echo {{ var.json['datacoves-audit-multi'].apitok }} | wc -c",
    )
    DatacovesDbtOperator(
        task_id="dbt_overrides_from_a_variable",
        connection_id="main",
        project_dir="transform",
        overrides="{{ var.value.dbt_overrides }}",
        bash_command="dbt run -s stg_customers",
    )
    multiple_key_value_secret()
    multi_line_secret()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def leak_audit_alert():
    """A task fails with a secret in its exception; the Teams alert quotes ``{{ exception }}``."""
    from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier

    @task(
        on_failure_callback=MSTeamsNotifier(
            connection_id="MS_TEAMS", title="audit alert", message="{{ ti.task_id }} failed: {{ exception }}"
        )
    )
    def fail_with_a_secret_in_the_error() -> None:
        from airflow.models import Variable

        raise RuntimeError(f"could not log in with key {Variable.get('audit_api_key')}")

    fail_with_a_secret_in_the_error()


leak_audit_masking()
leak_audit_alert()
