"""The docs' dbt example DAGs, run on DuckDB (connection `main`) and PostgreSQL (env-var mode)."""

from __future__ import annotations

import json

import pytest
from harness.dbt import env_var_mode, land_payments, run_billing, run_dbt_dag
from harness.paths import DEMO_REPO, ROOT

pytestmark = pytest.mark.slow  # every test here starts Airflow

EXAMPLES = ROOT / "example_dags"


DBT_EXAMPLES = [
    ("my_sample_dag", "table model main.personal_loans"),
    ("dbt_run", "table model main.personal_loans"),
    ("default_args_dag", "table model main.country_codes"),
    ("dynamic_schedule_dag", "All checks passed!"),
    ("my_dbt_dag", "All checks passed!"),
]


@pytest.mark.parametrize(("dag_id", "expected"), DBT_EXAMPLES)
def test_dbt_example_runs(airflow_home, dbt_venv, tmp_path, dag_id, expected):
    """The docs' dbt examples, on DuckDB through the Airflow connection `main`."""
    connection = {"conn_type": "duckdb", "host": str(tmp_path / "demo.duckdb")}
    result = run_dbt_dag(
        airflow_home,
        DEMO_REPO,
        dbt_venv,
        dag_id,
        dags=EXAMPLES,
        DATACOVES__DBT_HOME=str(DEMO_REPO / "transform"),
        AIRFLOW_CONN_MAIN=json.dumps(connection),
    )
    assert result.states and set(result.states.values()) == {"success"}, result.output[-4000:]
    assert expected in result.output


def test_classic_dbt_operator_example_runs(airflow_home, dbt_venv, pg_database):
    """The docs' DatacovesDbtOperator example in environment-variable mode, on PostgreSQL."""
    env = env_var_mode(DEMO_REPO, pg_database, "unused-with-trust-auth")
    result = run_dbt_dag(airflow_home, DEMO_REPO, dbt_venv, "yaml_dbt_dag", dags=EXAMPLES, **env)
    assert result.states == {"run_dbt": "success"}, result.output[-4000:]
    assert "table model analytics.personal_loans" in result.output


def test_retry_tests_example_runs(airflow_home, dbt_venv, tmp_path):
    """retry_dbt_tests_dag on DuckDB with the payments landed: the first try builds everything.
    (Its retry path runs in test_dbt_artifact_runs.py; the docs' retry DAG under a scheduler in
    test_dbt_retry_scheduler.py.)"""
    land_payments(tmp_path, "id,customer_id,amount\n1,1,10\n")
    result = run_billing(
        airflow_home,
        DEMO_REPO,
        dbt_venv,
        tmp_path,
        "retry_dbt_failures_and_tests",
        dags=EXAMPLES,
        AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=str(tmp_path / "store"),
    )
    assert result.states == {"dbt_build": "success"}, result.output[-4000:]
    assert "expected_files=[] (of ['run_results.json'])" in result.output
    assert list(
        (tmp_path / "store" / "runs" / "retry_dbt_failures_and_tests").glob("*/dbt_build/run_results.json")
    )
