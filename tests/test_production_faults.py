"""Faults of the services a task depends on, each through real ``airflow dags test`` runs: the dbt
API answering 500s and then recovering, the Teams webhook down, and the secrets API hanging.
Elsewhere: the dbt API unreachable for a whole task in
test_dbt_artifact_runs.py::test_a_store_outage_never_changes_the_outcome, a worker killed while dbt
runs in test_production.py (Celery deployment), a data sync killed mid-copy in test_data_sync_runs.py.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from harness.airflow_env import latest_run_id as run_id
from harness.airflow_env import run_dag
from harness.api_server import running_datacoves_api_server
from harness.dbt import run_billing, statuses
from harness.network import free_port
from harness.paths import DEMO_REPO

from datacoves_airflow_provider.dbt.api_client import RETRIES, DbtApiClient
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"


@contextlib.contextmanager
def hanging_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_the_dbt_api_answers_500s_then_recovers(airflow_home, demo_repo, dbt_venv, tmp_path):
    """Each failing request is retried (bounded, with backoff) until the API recovers; dbt's own
    result decides each task, and every artifact arrives."""
    failures = RETRIES  # the first request needs every retry the client has
    with running_datacoves_api_server(
        tmp_path / "api", "--fail-first", str(failures), "--fail-status", "500"
    ) as server:
        api_env = server.env(DATACOVES__ENVIRONMENT_SLUG="flaky")
        result = run_billing(airflow_home, demo_repo, dbt_venv, tmp_path, "artifacts_store_down", **api_env)
        requests = server.requests()
        client = DbtApiClient(DatacovesApiSettings.from_environment(api_env))
        run = quote(run_id(airflow_home, "artifacts_store_down"), safe="")
        stored = {}
        for task_id in ("dbt_succeeds", "dbt_fails"):
            path = tmp_path / f"{task_id}.json"
            assert client.download(f"artifacts_store_down/{run}/{task_id}/run_results.json", path), task_id
            stored[task_id] = statuses(path)
    assert result.states == {"dbt_succeeds": "success", "dbt_fails": "failed"}, result.output[-5000:]
    assert [r["status"] for r in requests[:failures]] == [500] * failures
    assert all(r["status"] < 500 for r in requests[failures:]), requests
    assert "transfers failed" not in result.output.replace("0 transfers failed", "")
    assert "dbt failed with exit code 1" in result.output
    assert stored["dbt_succeeds"]["model.billing.customers"] == "success"
    assert stored["dbt_fails"]["model.billing.payments"] == "error"


def test_the_teams_webhook_is_down(airflow_home, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    conn = {"conn_type": "http", "host": f"{dead}/workflows/x/triggers/manual/paths/invoke?sig=DOWNSIG4242"}
    result = run_dag(airflow_home, DAGS, "fault_teams_down", AIRFLOW_CONN_TEAMS_DOWN=json.dumps(conn))
    out = result.output
    assert result.states == {"succeeds": "success", "fails": "failed"}, out[-5000:]
    assert "the task's own failure" in out
    assert out.count("was not sent (connection teams_down)") == 2, out[-5000:]
    assert "DOWNSIG4242" not in out


def test_the_secrets_api_hangs(airflow_home, tmp_path):
    """Each request times out (connect 2 s, read 5 s) and is retried a bounded number of times; the
    task fails with an error that names the secret and the store, and the run goes on."""
    with hanging_server() as (url, accepted):
        started = time.monotonic()
        result = run_dag(
            airflow_home,
            DAGS,
            "fault_secrets_hang",
            timeout=300,
            DATACOVES__REPO_PATH=str(DEMO_REPO),
            AIRFLOW__SECRETS__BACKEND="datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
            DATACOVES__API_ENDPOINT=url,
            DATACOVES__API_TOKEN="tok-hang-9911",
            DATACOVES__ACCOUNT_ID="a",
            DATACOVES__PROJECT_SLUG="p",
            DATACOVES__ENVIRONMENT_SLUG="e",
        )
        elapsed = time.monotonic() - started
        connections = len(accepted)
    out = result.output
    assert result.states == {"reads_a_secret": "failed", "needs_no_secret": "success"}, out[-5000:]
    assert "datacoves-slow_secret" in out and "Datacoves secrets manager" in out, out[-5000:]
    assert "timed out" in out.lower(), out[-5000:]
    assert "tok-hang-9911" not in out
    assert 1 <= connections <= 3 * 4, connections  # bounded retries (per lookup Airflow makes)
    print(f"secrets API hang: task failed after {connections} connections; the run took {elapsed:.0f} s")
