"""The docs' retry DAG (example_dags/retry_dbt_dag.py) under a real scheduler: LocalExecutor on a
PostgreSQL metadata database, the reference dbt API server as the artifact store, dbt on DuckDB.

The first try fails because the payments file has not landed; the test lands it while the task
waits for its retry; the retry reruns only the failed model and its children. A later run of the
same DAG starts from scratch: it never resumes the first run's state.
"""

from __future__ import annotations

import json
import shutil
import time
from urllib.parse import quote

import pytest
from harness.airflow_cluster import airflow_cluster
from harness.dbt import RETRIED, dbt_env, node_ids
from harness.paths import ROOT

from datacoves_airflow_provider.dbt.api_client import DbtApiClient
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAG_ID = "retry_dbt_failures"
GOOD_PAYMENTS = "id,customer_id,amount\n1,1,10\n2,1,15\n3,2,20\n"


def test_retry_under_the_scheduler(tmp_path, demo_repo, dbt_venv, dbt_api_server):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "example_dags" / "retry_dbt_dag.py", dags)
    landing = tmp_path / "landing"
    landing.mkdir()
    api_env = dbt_api_server.env(DATACOVES__ENVIRONMENT_SLUG="scheduler")
    env = {
        "DATACOVES__REPO_PATH": str(demo_repo),
        "AIRFLOW_CONN_MAIN": json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "billing.duckdb")}),
        "BILLING_LANDING_DIR": str(landing),
        **dbt_env(dbt_venv),
        **api_env,
    }
    client = DbtApiClient(DatacovesApiSettings.from_environment(api_env))
    with airflow_cluster(tmp_path / "airflow", dags, **env) as cluster:
        first = cluster.trigger(DAG_ID)
        deadline = time.monotonic() + 300
        while (
            ti := cluster.task_tries(DAG_ID, first).get("dbt_build")
        ) is None or ti.state != "up_for_retry":
            assert ti is None or ti.state not in ("success", "failed"), (
                f"first try ended {ti}\n{cluster.logs()}"
            )
            assert time.monotonic() < deadline, f"no retry was scheduled: {ti}\n{cluster.logs()}"
            cluster.check_alive()
            time.sleep(0.5)
        (landing / "payments.csv").write_text(GOOD_PAYMENTS)  # the late file lands before the retry
        assert cluster.wait_for_run(DAG_ID, first) == "success", cluster.logs()
        assert cluster.task_tries(DAG_ID, first)["dbt_build"].try_number == 2

        try_1 = cluster.task_log(DAG_ID, first, "dbt_build", 1)
        try_2 = cluster.task_log(DAG_ID, first, "dbt_build", 2)
        assert "expected_files=[] (of ['run_results.json'])" in try_1, try_1[-3000:]
        assert "model.billing.payments (error)" in try_1
        assert "Uploaded run_results.json" in try_1
        assert "expected_files=['run_results.json'] (of ['run_results.json'])" in try_2, try_2[-3000:]
        assert "dbt build -s result:error+ --state logs" in try_2
        assert dbt_api_server.token not in try_1 + try_2

        retried = tmp_path / "retried.json"
        assert client.download(f"{DAG_ID}/{quote(first, safe='')}/dbt_build/run_results.json", retried)
        assert node_ids(retried) == RETRIED

        # A new run of the same DAG starts from scratch, although the first run's results exist.
        second = cluster.trigger(DAG_ID)
        assert cluster.wait_for_run(DAG_ID, second) == "success", cluster.logs()
        log = cluster.task_log(DAG_ID, second, "dbt_build", 1)
        assert "expected_files=[] (of ['run_results.json'])" in log, log[-3000:]
        full = tmp_path / "full.json"
        assert client.download(f"{DAG_ID}/{quote(second, safe='')}/dbt_build/run_results.json", full)
        assert "model.billing.customers" in node_ids(full)
