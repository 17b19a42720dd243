"""@task.datacoves_dbt / DatacovesDbtOperator running real dbt through ``airflow dags test``.

dbt comes from its own virtualenv (.venvs/dbt), as on a Datacoves worker. DuckDB and a real
PostgreSQL server are the warehouses; the connections are AIRFLOW_CONN_* variables.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg2
import pytest
from harness.airflow_env import DagRunResult
from harness.dbt import env_var_mode, run_dbt_dag
from harness.evidence import assert_gone, read
from harness.repos import tree_fingerprint
from harness.warehouses import PG_DSN

pytestmark = pytest.mark.slow  # every test here starts Airflow

PG_PASSWORD = "pg-Secret-value-8472"


def pg_conn(database: str, **extra: str) -> str:
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "login": "postgres",
            "password": PG_PASSWORD,
            "schema": database,
            "extra": extra,
        }
    )


def pg_tables(database: str) -> set[str]:
    with psycopg2.connect(PG_DSN.replace("dbname=postgres", f"dbname={database}")) as db, db.cursor() as cur:
        cur.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        )
        return {row[0] for row in cur.fetchall()}


# -- DuckDB ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duckdb_run(airflow_home, demo_repo, dbt_venv, tmp_path_factory):
    evidence = tmp_path_factory.mktemp("evidence")
    database = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
    before = tree_fingerprint(demo_repo)
    result = run_dbt_dag(
        airflow_home,
        demo_repo,
        dbt_venv,
        "dbt_duckdb",
        EVIDENCE=str(evidence),
        DATACOVES__DBT_HOME=str(demo_repo / "transform"),
        AIRFLOW_CONN_DUCKDB_MAIN=json.dumps({"conn_type": "duckdb", "host": str(database)}),
    )
    return result, evidence, database, before


def test_duckdb_build_succeeds(duckdb_run):
    result, _, _, _ = duckdb_run
    assert result.states == {"build": "success", "keep_summary": "success", "classic_ls": "success"}, (
        result.output[-6000:]
    )


def test_duckdb_tables_exist(duckdb_run, dbt_venv):
    _, _, database, _ = duckdb_run
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select first_name, order_count, lifetime_value from customer_orders "
        "order by customer_id').fetchall())"
    )
    out = subprocess.run(
        [str(dbt_venv / "bin" / "python"), "-c", code, str(database)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # the local package's cents_to_dollars macro ran: dbt deps worked offline
    assert "('Michael', 2, 17.0)" in out and "('Jimmy', 1, 3.99)" in out


def test_dbt_deps_ran_and_output_streamed(duckdb_run):
    result, _, _, _ = duckdb_run
    assert "Running dbt deps" in result.output
    assert "Installing local_packages/money" in result.output
    assert "Completed successfully" in result.output  # dbt's own output is in the task log


def test_summary_is_logged_and_returned(duckdb_run):
    result, evidence, _, _ = duckdb_run
    summary = json.loads(read(evidence, "duckdb_summary.json"))
    assert summary["command"] == "build"
    assert summary["counts"] == {"pass": 7, "success": 8}  # 7 tests; 2 seeds + 6 models
    assert summary["failures"] == []
    assert len(summary["slowest"]) == 5
    assert "dbt build finished in" in result.output


def test_runs_in_project_folder_of_private_copy(duckdb_run, demo_repo):
    _, evidence, _, before = duckdb_run
    for name in ("duckdb_pwd", "classic_pwd"):
        pwd = read(evidence, name)
        assert pwd.endswith("/repo/transform") and "datacoves-stage" in pwd
        assert_gone(pwd)
    assert_gone(read(evidence, "duckdb_profiles_dir"))
    assert tree_fingerprint(demo_repo) == before  # dbt_packages, target, logs: all in the copy


def test_classic_operator_uses_dbt_home(duckdb_run):
    _, evidence, _, _ = duckdb_run
    models = [line for line in read(evidence, "classic_ls").splitlines() if line.startswith("demo.")]
    assert "demo.marts.customer_orders" in models and len(models) == 6


def test_duckdb_profile(duckdb_run):
    _, evidence, database, _ = duckdb_run
    text = read(evidence, "duckdb_profiles.yml")
    profile = json.loads(text.split("\n", 1)[1])
    assert profile == {
        "default": {
            "target": "default",
            "outputs": {"default": {"type": "duckdb", "path": str(database), "threads": 4}},
        }
    }


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_on_postgres(airflow_home, demo_repo, dbt_venv, pg_database, tmp_path_factory):
    """Runs a DAG of tests/dags on the demo repository with the connection ``pg_main`` (schema
    ``analytics`` of ``pg_database``); returns its result and the folder its tasks wrote evidence to."""

    def run(dag_id: str, **env: str) -> tuple[DagRunResult, Path]:
        evidence = tmp_path_factory.mktemp("evidence")
        env.update(EVIDENCE=str(evidence), AIRFLOW_CONN_PG_MAIN=pg_conn(pg_database, schema="analytics"))
        return run_dbt_dag(airflow_home, demo_repo, dbt_venv, dag_id, **env), evidence

    return run


@pytest.fixture(scope="module")
def postgres_run(run_on_postgres, pg_database):
    result, evidence = run_on_postgres("dbt_postgres")
    return result, evidence, pg_database


def test_postgres_states(postgres_run):
    result, _, _ = postgres_run
    assert result.states == {
        "build": "success",
        "keep_summary": "success",
        "with_overrides": "success",
        "broken_model": "failed",
    }, result.output[-6000:]


def test_postgres_tables_land_in_the_right_schemas(postgres_run):
    _, _, database = postgres_run
    tables = pg_tables(database)
    assert {"analytics.customer_orders", "analytics.stg_orders", "analytics.raw_customers"} <= tables
    # overrides={"schema": "{{ params.schema }}"}: rendered, applied on top of the connection's
    assert "overridden.customer_orders" in tables


def test_secrets_never_reach_disk_or_logs(postgres_run):
    result, evidence, _ = postgres_run
    for name in ("pg", "pg_overrides"):
        text = read(evidence, f"{name}_profiles.yml")
        assert PG_PASSWORD not in text
        assert "{{ env_var('DBT_ENV_SECRET_DATACOVES_PASSWORD') }}" in text
        assert read(evidence, f"{name}_secret_count") == "1"
        assert_gone(read(evidence, f"{name}_profiles_dir"))
    assert PG_PASSWORD not in result.output
    assert PG_PASSWORD not in read(evidence, "pg_summary.json")


def test_target_and_overrides_shape_the_profile(postgres_run):
    _, evidence, database = postgres_run
    profile = json.loads(read(evidence, "pg_profiles.yml").split("\n", 1)[1])
    assert profile["default"]["target"] == "prd"
    output = profile["default"]["outputs"]["prd"]
    assert output == {
        "type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "user": "postgres",
        "password": "{{ env_var('DBT_ENV_SECRET_DATACOVES_PASSWORD') }}",
        "dbname": database,
        "schema": "analytics",
        "threads": 4,
    }
    overridden = json.loads(read(evidence, "pg_overrides_profiles.yml").split("\n", 1)[1])
    output = overridden["default"]["outputs"]["default"]
    assert (output["schema"], output["threads"]) == ("overridden", 2)


def test_dbt_failure_names_the_failing_node(postgres_run):
    result, _, _ = postgres_run
    assert "dbt failed with exit code 1: model.demo.broken_model (error)" in result.output
    # the summary is logged even when dbt fails
    assert "ERROR: model.demo.broken_model:" in result.output


# -- environment-variable delivery mode ------------------------------------------------------------


def test_env_var_mode_uses_the_repository_profile(airflow_home, demo_repo, dbt_venv, pg_database, tmp_path):
    env = env_var_mode(demo_repo, pg_database, PG_PASSWORD)
    result = run_dbt_dag(airflow_home, demo_repo, dbt_venv, "dbt_env_vars", EVIDENCE=str(tmp_path), **env)
    assert result.states == {"build": "success"}, result.output[-6000:]
    assert read(tmp_path, "envmode_profiles_dir").endswith("/repo/automate/dbt")
    assert "env_mode.customer_orders" in pg_tables(pg_database)


# -- bad input at run time -------------------------------------------------------------------------


def test_bad_input_fails_with_clear_messages(airflow_home, demo_repo, dbt_venv, tmp_path):
    result = run_dbt_dag(
        airflow_home,
        demo_repo,
        dbt_venv,
        "dbt_bad_input",
        EVIDENCE=str(tmp_path),
        AIRFLOW_CONN_DUCKDB_MAIN=json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "x.duckdb")}),
        AIRFLOW_CONN_HTTP_CONN="http://example.com",
        AIRFLOW_CONN_PG_NO_SCHEMA=json.dumps(
            {"conn_type": "postgres", "host": "h", "login": "u", "password": "p", "schema": "db"}
        ),
    )
    assert set(result.states.values()) == {"failed"}, result.output[-6000:]
    expected = [
        "Connection 'does_not_exist' does not exist",
        "Connection 'http_conn' has type 'http', which cannot be turned into a dbt profile",
        "Connection 'pg_no_schema' (postgres): dbt needs 'schema' for postgres",
        "No dbt project: pass project_dir",
        "project_dir='orchestrate' is not a dbt project",
        "must return the command to run as a non-empty string; it returned list",
    ]
    for message in expected:
        assert message in result.output, message


# -- templated overrides: masked where Airflow stores them ----------------------------------------

OVERRIDE_PASSWORD = "Ovr-Secret-4e1b9d27"
BAD_OVERRIDE_PASSWORD = "Bad-Secret-7c30a5f1"
UNICODE_SCHEMA = "masked_é😀"


def airflow_db_dump(home: Path) -> str:
    """Every row of the Airflow database as SQL text (blobs, such as Airflow 2's XComs, in hex)."""
    import sqlite3

    with sqlite3.connect(home / "airflow.db") as db:
        return "\n".join(db.iterdump())


def assert_not_stored(dump: str, secret: str) -> None:
    assert secret not in dump
    assert secret.encode().hex().upper() not in dump.upper()


@pytest.fixture(scope="module")
def overrides_run(run_on_postgres):
    return run_on_postgres(
        "dbt_overrides_masked",
        AIRFLOW_VAR_DBT_OVERRIDES=json.dumps({"password": OVERRIDE_PASSWORD, "schema": UNICODE_SCHEMA}),
        AIRFLOW_VAR_DBT_BAD_OVERRIDES=f"password={BAD_OVERRIDE_PASSWORD}",
    )


def test_templated_overrides_reach_dbt(overrides_run):
    result, evidence = overrides_run
    assert result.states == {
        "classic_templated": "success",
        "decorated_templated": "success",
        "mapped_templated": "success",
        "bad_rendered": "failed",
    }, result.output[-6000:]
    for name in ("classic_templated", "decorated_templated", "mapped_templated"):
        profile = json.loads(read(evidence, f"{name}_profiles.yml").split("\n", 1)[1])
        output = profile["default"]["outputs"]["default"]
        assert output["schema"] == UNICODE_SCHEMA  # written as UTF-8, not as \ud83d escapes
        assert output["password"] == "{{ env_var('DBT_ENV_SECRET_DATACOVES_PASSWORD') }}"
    assert f"schema: {UNICODE_SCHEMA}" in result.output  # dbt debug read it back


def test_templated_overrides_are_masked_in_rendered_fields_and_xcom(overrides_run, airflow_home):
    """The rendered overrides (JSON text from a variable) reach the rendered-fields table with the
    password masked, and the XCom (the command's last line, which prints it) shows ``***``."""
    import sqlite3

    with sqlite3.connect(airflow_home / "airflow.db") as db:
        xcoms = db.execute(
            "select task_id, value from xcom where dag_id = 'dbt_overrides_masked' and key = 'return_value'"
        ).fetchall()
    values = {task_id: bytes(v).decode() if isinstance(v, bytes) else str(v) for task_id, v in xcoms}
    assert set(values) == {"classic_templated", "decorated_templated", "mapped_templated"}, values
    assert all("last line quotes the password: ***" in value for value in values.values()), values
    dump = airflow_db_dump(airflow_home)
    rows = [
        line for line in dump.splitlines() if line.startswith('INSERT INTO "rendered_task_instance_fields"')
    ]
    masked = [row for row in rows if '"overrides": {"password": "***", "schema": "masked_' in row]
    assert len(masked) == 3, rows  # the classic operator's, the decorated and the mapped task's
    for secret in (OVERRIDE_PASSWORD, BAD_OVERRIDE_PASSWORD, PG_PASSWORD):
        assert_not_stored(dump, secret)


def test_badly_rendered_overrides_error_names_the_parameter_not_the_value(overrides_run):
    result, _ = overrides_run
    assert (
        "Task 'bad_rendered': overrides rendered to text (28 characters, not shown: it may hold a secret) "
        "that is neither a JSON object nor a Python dict" in result.output
    )
    assert BAD_OVERRIDE_PASSWORD not in result.output
