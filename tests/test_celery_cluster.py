"""CeleryExecutor deployment (Redis broker, PostgreSQL metadata and result backend, two workers on
queues worker_a and worker_b): each task runs on the worker of its queue, with that worker's host
name and temp dir, and the harness leaves no process, database or Redis key behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from harness.airflow_env import airflow_env
from harness.celery_cluster import CeleryCluster, celery_cluster, marked_processes, redis_client
from harness.paths import DEMO_REPO
from harness.warehouses import PG_DSN

DAGS = Path(__file__).parent / "dags"
DAG_ID = "celery_scenarios"


def assert_database_dropped_and_redis_empty(cluster: CeleryCluster) -> None:
    """The cluster's metadata database is gone and its Redis database is empty."""
    with contextlib.closing(psycopg2.connect(PG_DSN)) as db:
        cur = db.cursor()
        cur.execute("select 1 from pg_database where datname = %s", (cluster.database,))
        assert cur.fetchall() == []
    with contextlib.closing(redis_client(cluster.redis_db)) as client:
        assert client.dbsize() == 0


@pytest.mark.slow
def test_tasks_run_on_the_worker_of_their_queue(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "celery_scenarios.py", dags)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    env = {"EVIDENCE": str(evidence), "DATACOVES__REPO_PATH": str(DEMO_REPO)}
    with celery_cluster(tmp_path / "airflow", dags, **env) as cluster:
        run_id = cluster.trigger(DAG_ID)
        state = cluster.wait_for_run(DAG_ID, run_id, timeout=120)
        tries = cluster.task_tries(DAG_ID, run_id)
        assert state == "success", f"{tries}\n{cluster.logs()}"
        assert {t.task_id: t.state for t in tries.values()} == dict.fromkeys(
            ("on_a", "on_b", "on_default_queue", "bash_on_b"), "success"
        )
        hosts = cluster.task_hosts(DAG_ID, run_id)
        assert any(key.startswith("_kombu.binding.") for key in cluster.redis_keys())
    a, b = cluster.workers["worker_a"], cluster.workers["worker_b"]
    assert a.hostname != b.hostname
    expected = {"on_a": a, "on_b": b, "on_default_queue": a}  # [operators] default_queue is worker_a
    for task_id, worker in expected.items():
        seen = json.loads((evidence / f"{task_id}.json").read_text())
        assert hosts[task_id] == (worker.hostname, worker.queue), task_id
        assert seen["hostname"] == worker.hostname, (task_id, seen)
        assert seen["queue"] == worker.queue, (task_id, seen)
        assert seen["tmpdir"] == str(worker.tmpdir), (task_id, seen)
    # @task.datacoves_bash staged the repository in worker B's temp dir and removed it afterwards
    assert hosts["bash_on_b"] == (b.hostname, "worker_b")
    assert (evidence / "bash_on_b.tmpdir").read_text().strip() == str(b.tmpdir)
    staged = Path((evidence / "bash_on_b.pwd").read_text().strip())
    assert staged.is_relative_to(b.tmpdir) and "datacoves-stage" in str(staged), staged
    assert list(b.tmpdir.iterdir()) == [], list(b.tmpdir.iterdir())

    # nothing left behind: processes, metadata database, broker keys
    assert cluster.leftovers == [], cluster.leftovers
    assert marked_processes(cluster.marker) == []
    for proc in cluster.processes.values():
        assert proc.poll() is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 0)
            raise AssertionError(f"process group {proc.pid} still has members")
    assert_database_dropped_and_redis_empty(cluster)


@pytest.mark.slow
def test_everything_stops_when_the_test_fails(tmp_path):
    """A test that fails while a task runs on a worker: the harness still stops every process
    (the task's too), drops the database and empties its Redis database."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "celery_scenarios.py", dags)
    env = {"DATACOVES__REPO_PATH": str(DEMO_REPO)}
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        celery_cluster(tmp_path / "airflow", dags, **env) as cluster,
    ):
        run_id = cluster.trigger("celery_long_task")
        deadline = time.monotonic() + 180
        while (ti := cluster.task_tries("celery_long_task", run_id).get("sleeps")) is None or (
            ti.state != "running"
        ):
            assert time.monotonic() < deadline, f"the task never ran: {ti}\n{cluster.logs()}"
            time.sleep(0.5)
        raise RuntimeError("the test failed while a task runs")
    assert marked_processes(cluster.marker) == []
    for proc in cluster.processes.values():
        assert proc.poll() is not None
    assert_database_dropped_and_redis_empty(cluster)


def test_the_locked_celery_works_with_the_celery_provider(tmp_path):
    """celery 5.7 dropped celery.backends.database.retry, which the celery provider (3.26) imports at
    module level, so CeleryExecutor could not start; requirements/airflow*.in pin celery<5.7."""
    proc = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor"],
        env=airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
