"""dbt in tests: the dbt virtualenv's environment, the demo repository's billing DAGs, and what a
``run_results.json`` says."""

from __future__ import annotations

import json
from pathlib import Path

from harness.airflow_env import DagRunResult, run_dag
from harness.paths import DAGS, DBT_VENV

#: What a retry after a failure in `payments` must build: the model, its tests and its child
#: (never `customers`, which succeeded on the first try). Generic tests lose their hash suffix.
RETRIED = {
    "model.billing.payments",
    "model.billing.payment_totals",
    "test.billing.assert_payment_amounts_positive",
    "test.billing.not_null_payments_id",
    "test.billing.unique_payments_id",
}


def require_dbt_venv() -> Path:
    """The dbt virtualenv (dbt-core 1.11 and adapters), separate from Airflow's, as in production."""
    assert (DBT_VENV / "bin" / "dbt").exists(), (
        f"{DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt (scripts/test.sh does)"
    )
    return DBT_VENV


def dbt_env(venv: Path) -> dict[str, str]:
    """Variables every dbt-running test sets: our default virtualenv is the dbt one, dbt stays offline."""
    return {
        "AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV": str(venv),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt_dag(
    home: Path, repo: Path, dbt_venv: Path, dag_id: str, *, dags: Path = DAGS, **env: str
) -> DagRunResult:
    """Run a DAG whose tasks run dbt, on ``repo``, with dbt from ``dbt_venv`` (:func:`dbt_env`).

    :param home: a migrated Airflow home.
    :param repo: the repository (``DATACOVES__REPO_PATH``).
    :param dbt_venv: the dbt virtualenv.
    :param dag_id: the DAG's id.
    :param dags: the DAG folder; tests/dags unless given.
    :param env: more environment variables (``EVIDENCE``, connections...).
    """
    return run_dag(home, dags, dag_id, DATACOVES__REPO_PATH=str(repo), **dbt_env(dbt_venv), **env)


def env_var_mode(repo: Path, database: str, password: str) -> dict[str, str]:
    """The variables of the environment-variable mode on the local PostgreSQL: dbt uses ``repo``'s own
    profile (automate/dbt), whose target reads its fields from ``DATACOVES__MAIN__*``.

    :param repo: the repository (the demo repository or a copy of it).
    :param database: the PostgreSQL database.
    :param password: ``DATACOVES__MAIN__PASSWORD``.
    """
    return {
        "DATACOVES__DBT_HOME": str(repo / "transform"),
        "DATACOVES__AIRFLOW_DBT_PROFILE_PATH": str(repo / "automate" / "dbt"),
        "DATACOVES__MAIN__HOST": "127.0.0.1",
        "DATACOVES__MAIN__USER": "postgres",
        "DATACOVES__MAIN__PASSWORD": password,
        "DATACOVES__MAIN__DATABASE": database,
    }


def run_billing(
    home: Path, demo_repo: Path, dbt_venv: Path, tmp_path: Path, dag_id: str, *, dags: Path = DAGS, **env: str
) -> DagRunResult:
    """Run a billing DAG (tests/dags', or one in ``dags``) on ``demo_repo`` (DuckDB warehouse as the
    connection ``main``, landing folder in ``tmp_path``)."""
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    conn = json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "billing.duckdb")})
    return run_dbt_dag(
        home,
        demo_repo,
        dbt_venv,
        dag_id,
        dags=dags,
        AIRFLOW_CONN_MAIN=conn,
        BILLING_LANDING_DIR=str(landing),
        **env,
    )


def land_payments(tmp_path: Path, csv: str) -> None:
    """Land the billing project's late ``payments.csv`` in the landing folder :func:`run_billing` names.

    :param tmp_path: the folder given to :func:`run_billing`.
    :param csv: the file's text (a header ``id,customer_id,amount`` and rows).
    """
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "payments.csv").write_text(csv)


def node_ids(run_results: Path) -> set[str]:
    """The nodes a ``run_results.json`` names (a test's hash suffix dropped)."""
    ids = {r["unique_id"] for r in json.loads(run_results.read_text())["results"]}
    return {i.rsplit(".", 1)[0] if i.startswith("test.") and i.count(".") == 3 else i for i in ids}


def statuses(run_results: Path) -> dict[str, str]:
    """Node id -> status in a ``run_results.json``."""
    return {r["unique_id"]: r["status"] for r in json.loads(run_results.read_text())["results"]}
