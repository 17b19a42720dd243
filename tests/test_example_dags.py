"""Every example DAG loads without errors on this Airflow line, and the local ones run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from harness.airflow_env import run_dag
from harness.paths import ROOT, airflow_major

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


@pytest.mark.slow
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


@pytest.mark.quick  # scripts/test.sh --quick runs it: the data sync's real DAG run
@pytest.mark.slow
def test_local_db_sync_example_copies_the_sqlite_metadata_database(airflow_home, tmp_path):
    """The README demo's sync: Airflow's own SQLite database (rows streamed in batches, no COPY) into
    a DuckDB file, every table."""
    import json

    import duckdb

    target = tmp_path / "airflow.duckdb"
    conn = json.dumps({"conn_type": "duckdb", "host": str(target)})
    result = run_dag(airflow_home, EXAMPLES, "airflow_db_sync_local", AIRFLOW_CONN_AIRFLOW_WAREHOUSE=conn)
    assert result.states == {"sync_airflow_db": "success"}, result.output[-4000:]
    assert "Data sync done." in result.output and "tables into DuckDB (airflow_warehouse)" in result.output
    with duckdb.connect(str(target), read_only=True) as db:
        tables = {r[0] for r in db.execute(
            "select table_name from information_schema.tables where table_schema = 'airflow_local'"
        ).fetchall()}  # fmt: skip
        assert {"dag", "dag_run", "task_instance", "_datacoves_sync_state"} <= tables
        # this run itself (on 2.x, `airflow dags test` leaves the dag table empty)
        assert db.execute("select count(*) from airflow_local.dag_run where dag_id = 'airflow_db_sync_local'").fetchone()[0] == 1
        assert not any(t.startswith("_dcsync_") for t in tables)
