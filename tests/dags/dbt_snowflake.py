"""@task.datacoves_dbt against fakesnow's Snowflake server (tests only).

tests/test_dbt_snowflake.py starts the server, sets DATACOVES__REPO_PATH to a copy of
example_dags/demo_repo, defines the snowflake_* connections through AIRFLOW_CONN_* variables, and
reads the profiles the tasks copied into $EVIDENCE.
"""

from __future__ import annotations

import os

from airflow.decorators import dag, task
from pendulum import datetime

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
DEFAULTS = {"retries": 0}
START = datetime(2024, 1, 1)


def copy_profile(name: str) -> str:
    """A command that keeps the profile dbt was given (the folder is removed with the task)."""
    return f'cp "$DBT_PROFILES_DIR/profiles.yml" {EVIDENCE}/{name}_profiles.yml'


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args=DEFAULTS)
def dbt_snowflake():
    @task.datacoves_dbt(connection_id="snowflake_password", project_dir="transform")
    def build() -> str:
        return f"{copy_profile('password')} && dbt build"

    # encrypted key, base64-encoded in private_key_content, passphrase in the Password field
    @task.datacoves_dbt(connection_id="snowflake_key_pair", project_dir="transform")
    def key_pair() -> str:
        return f"{copy_profile('key_pair')} && dbt run -s stg_customers"

    @task.datacoves_dbt(
        connection_id="snowflake_password",
        project_dir="transform",
        target="prd",
        overrides={"warehouse": "OTHER_WH", "role": "OTHER_ROLE"},
    )
    def with_overrides() -> str:
        return f"{copy_profile('overrides')} && dbt run -s order_status"

    # fakesnow accepts any login, but dbt decrypts the key before connecting: this one must fail
    @task.datacoves_dbt(connection_id="snowflake_wrong_passphrase", project_dir="transform")
    def wrong_passphrase() -> str:
        return "dbt debug"

    build() >> [key_pair(), with_overrides(), wrong_passphrase()]


dbt_snowflake()
