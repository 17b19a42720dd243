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


def run_billing(
    home: Path, demo_repo: Path, dbt_venv: Path, tmp_path: Path, dag_id: str, **env: str
) -> DagRunResult:
    """Run one of tests/dags' billing DAGs on ``demo_repo`` (DuckDB warehouse, landing folder in ``tmp_path``)."""
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    conn = json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "billing.duckdb")})
    return run_dag(
        home,
        DAGS,
        dag_id,
        DATACOVES__REPO_PATH=str(demo_repo),
        AIRFLOW_CONN_MAIN=conn,
        BILLING_LANDING_DIR=str(landing),
        **dbt_env(dbt_venv),
        **env,
    )


def node_ids(run_results: Path) -> set[str]:
    """The nodes a ``run_results.json`` names (a test's hash suffix dropped)."""
    ids = {r["unique_id"] for r in json.loads(run_results.read_text())["results"]}
    return {i.rsplit(".", 1)[0] if i.startswith("test.") and i.count(".") == 3 else i for i in ids}


def statuses(run_results: Path) -> dict[str, str]:
    """Node id -> status in a ``run_results.json``."""
    return {r["unique_id"]: r["status"] for r in json.loads(run_results.read_text())["results"]}
