"""Every example DAG loads without errors on this Airflow line, and the local ones run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, airflow_major, dbt_env, run_dag

EXAMPLES = ROOT / "example_dags"
DEMO_REPO = EXAMPLES / "demo_repo"


def load_dagbag():
    # Airflow puts its DAGs folder on sys.path (examples import orchestrate.utils from there)
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    if airflow_major() >= 3:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=str(EXAMPLES))
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(EXAMPLES), include_examples=False)


def test_all_examples_load():
    bag = load_dagbag()
    assert bag.import_errors == {}
    files = {Path(f).name for f in EXAMPLES.glob("*.py")}
    loaded = {Path(dag.fileloc).name for dag in bag.dags.values()}
    assert loaded == files, f"example files without a DAG: {files - loaded}"


@pytest.mark.parametrize(
    ("dag_id", "env", "expected"),
    [
        ("datacoves_sample_dag", {}, "Charlie,35,Los Angeles"),
        ("simple_datacoves_dag", {}, "Alice,25,New York"),
        ("variables_dag", {"AIRFLOW_VAR_DBT_DAILY_RUN_TAG": "daily"}, "dbt build -s tag:daily"),
        (
            "connections_dag",
            {"AIRFLOW_CONN_AIRBYTE_CONNECTION": "http://airbyte-server:8001"},
            "Airbyte hostname is airbyte-server",
        ),
        ("yaml_teams_dag", {}, "SUCCESS!"),
        ("request_resources_dag", {}, "Resource request DAG executed successfully!"),
    ],
)
def test_example_runs(airflow_home, dag_id, env, expected):
    result = run_dag(airflow_home, EXAMPLES, dag_id, DATACOVES__REPO_PATH=str(DEMO_REPO), **env)
    assert result.states and set(result.states.values()) == {"success"}, result.output[-4000:]
    assert expected in result.output


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
    result = run_dag(
        airflow_home,
        EXAMPLES,
        dag_id,
        DATACOVES__REPO_PATH=str(DEMO_REPO),
        DATACOVES__DBT_HOME=str(DEMO_REPO / "transform"),
        AIRFLOW_CONN_MAIN=json.dumps(connection),
        **dbt_env(dbt_venv),
    )
    assert result.states and set(result.states.values()) == {"success"}, result.output[-4000:]
    assert expected in result.output


def test_classic_dbt_operator_example_runs(airflow_home, dbt_venv, pg_database):
    """The docs' DatacovesDbtOperator example in environment-variable mode, on PostgreSQL."""
    result = run_dag(
        airflow_home,
        EXAMPLES,
        "yaml_dbt_dag",
        DATACOVES__REPO_PATH=str(DEMO_REPO),
        DATACOVES__DBT_HOME=str(DEMO_REPO / "transform"),
        DATACOVES__AIRFLOW_DBT_PROFILE_PATH=str(DEMO_REPO / "automate" / "dbt"),
        DATACOVES__MAIN__HOST="127.0.0.1",
        DATACOVES__MAIN__USER="postgres",
        DATACOVES__MAIN__PASSWORD="unused-with-trust-auth",
        DATACOVES__MAIN__DATABASE=pg_database,
        **dbt_env(dbt_venv),
    )
    assert result.states == {"run_dbt": "success"}, result.output[-4000:]
    assert "table model analytics.personal_loans" in result.output
