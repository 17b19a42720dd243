"""@task.datacoves_dbt / DatacovesDbtOperator scenarios against real dbt (tests only).

The test sets DATACOVES__REPO_PATH to a copy of example_dags/demo_repo, points the default
virtualenv at the dbt virtualenv, defines the connections through AIRFLOW_CONN_* variables, and
reads what the tasks wrote into $EVIDENCE.
"""

from __future__ import annotations

import json
import os

from airflow.decorators import dag, task
from pendulum import datetime

from operators.datacoves.dbt import DatacovesDbtOperator

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
DEFAULTS = {"retries": 0}
START = datetime(2024, 1, 1)

# Copies what the dbt process saw: its profile file and which secret variables it had.
# (Variables are written ${NAME}: the data-sync tests copy these DAGs' serialized commands into
# fakesnow's server, which takes any $NAME in the SQL text, string literals included, for a Snowflake
# session variable; real Snowflake does not.)
INSPECT = (
    f'cp "${{{{DBT_PROFILES_DIR}}}}/profiles.yml" {EVIDENCE}/{{name}}_profiles.yml; '
    f'echo "${{{{DBT_PROFILES_DIR}}}}" > {EVIDENCE}/{{name}}_profiles_dir; pwd > {EVIDENCE}/{{name}}_pwd; '
    f"env | grep -c '^DBT_ENV_SECRET_' > {EVIDENCE}/{{name}}_secret_count || true"
)


def _save(name: str, value: object) -> None:
    with open(f"{EVIDENCE}/{name}.json", "w") as fh:
        json.dump(value, fh)


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_duckdb():
    @task.datacoves_dbt(connection_id="duckdb_main", project_dir="transform")
    def build() -> str:
        return f"{INSPECT.format(name='duckdb')} && dbt build"

    @task
    def keep_summary(summary: dict) -> None:
        _save("duckdb_summary", summary)

    # the classic operator from the legacy path; no project_dir, so DATACOVES__DBT_HOME decides
    listing = DatacovesDbtOperator(
        task_id="classic_ls",
        connection_id="duckdb_main",
        bash_command=f"dbt ls --resource-type model > {EVIDENCE}/classic_ls; pwd > {EVIDENCE}/classic_pwd",
    )

    keep_summary(build()) >> listing


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_postgres():
    @task.datacoves_dbt(connection_id="pg_main", project_dir="transform", target="prd")
    def build() -> str:
        return f"{INSPECT.format(name='pg')} && dbt build"

    @task.datacoves_dbt(
        connection_id="pg_main",
        project_dir="transform",
        overrides={"schema": "{{ params.schema }}", "threads": 2},
        params={"schema": "overridden"},
    )
    def with_overrides() -> str:
        return f"{INSPECT.format(name='pg_overrides')} && dbt build"

    @task.datacoves_dbt(connection_id="pg_main", project_dir="transform")
    def broken_model() -> str:
        return (
            "echo 'select * from table_that_does_not_exist' > models/marts/broken_model.sql && "
            "dbt run -s broken_model customer_orders"
        )

    @task
    def keep_summary(summary: dict) -> None:
        _save("pg_summary", summary)

    summary = build()
    keep_summary(summary)
    summary >> [with_overrides(), broken_model()]


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_env_vars():
    # no connection_id: the repository's automate/dbt/profiles.yml reads DATACOVES__MAIN__*
    @task.datacoves_dbt(append_env=True, env={"DATACOVES__MAIN__SCHEMA": "env_mode"}, target="prd")
    def build() -> str:
        return f"{INSPECT.format(name='envmode')} && dbt build"

    build()


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_bad_input():
    @task.datacoves_dbt(connection_id="does_not_exist", project_dir="transform")
    def missing_connection() -> str:
        return "dbt debug"

    @task.datacoves_dbt(connection_id="http_conn", project_dir="transform")
    def unsupported_type() -> str:
        return "dbt debug"

    @task.datacoves_dbt(connection_id="pg_no_schema", project_dir="transform")
    def missing_field() -> str:
        return "dbt debug"

    @task.datacoves_dbt(connection_id="duckdb_main")
    def no_dbt_home() -> str:
        return "dbt debug"

    @task.datacoves_dbt(connection_id="duckdb_main", project_dir="orchestrate")
    def not_a_project() -> str:
        return "dbt debug"

    @task.datacoves_dbt(connection_id="duckdb_main", project_dir="transform")
    def returns_a_list() -> list:
        return ["dbt", "debug"]

    missing_connection()
    unsupported_type()
    missing_field()
    no_dbt_home()
    not_a_project()
    returns_a_list()


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_overrides_masked():
    # overrides from a variable whose name the masker does not know: the template renders JSON text
    # holding a password (and a schema with an accent and an emoji, which dbt must read back)
    def command(name: str) -> str:
        return (
            f"{INSPECT.format(name=name)} && dbt debug && "
            'echo "last line quotes the password: ${DBT_ENV_SECRET_DATACOVES_PASSWORD}"'
        )

    DatacovesDbtOperator(
        task_id="classic_templated",
        connection_id="pg_main",
        project_dir="transform",
        overrides="{{ var.value.dbt_overrides }}",
        bash_command=command("classic_templated"),
    )

    @task.datacoves_dbt(
        connection_id="pg_main", project_dir="transform", overrides="{{ var.value.dbt_overrides }}"
    )
    def decorated_templated() -> str:
        return command("decorated_templated")

    DatacovesDbtOperator.partial(
        task_id="mapped_templated",
        connection_id="pg_main",
        project_dir="transform",
        overrides="{{ var.value.dbt_overrides }}",
    ).expand(bash_command=[command("mapped_templated")])

    DatacovesDbtOperator(
        task_id="bad_rendered",
        connection_id="pg_main",
        project_dir="transform",
        overrides="{{ var.value.dbt_bad_overrides }}",
        bash_command="dbt debug",
    )

    decorated_templated()


dbt_duckdb()
dbt_postgres()
dbt_env_vars()
dbt_bad_input()
dbt_overrides_masked()
