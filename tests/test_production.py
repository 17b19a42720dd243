"""Production proof on a real CeleryExecutor deployment (both Airflow lines): a scheduler (plus the
api-server and dag-processor on Airflow 3), PostgreSQL metadata database and result backend, Redis
broker, and two Celery workers that share nothing but the broker, the database and the artifact
store. Each worker has its own temp dir and its own clone of the repository, as two Kubernetes pods
would; the test moves a queue from one worker to the other (Celery's remote control) to decide
where a retry runs.

- the docs' retry DAG fails on worker A and retries on worker B, resuming from the artifact store:
  the reference dbt API server, then an S3 bucket on moto's server;
- 16 dbt / bash tasks at once across both workers on one repository checkout, each with its own
  secret, connection and staging folder;
- worker A is killed while dbt runs: Airflow notices the missing heartbeat, the retry runs on B.

One deployment serves the whole module (it takes a minute to start); each test starts workers of
its own.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from harness.celery_cluster import (
    CeleryCluster,
    celery_cluster,
    kill_worker,
    move_queue,
    start_worker,
    worker_processes,
)
from harness.dbt import RETRIED, dbt_env, node_ids
from harness.paths import DEMO_REPO, ROOT
from harness.repos import copy_as_git_repo, tree_fingerprint
from harness.warehouses import PG_DSN, aws_connection

from datacoves_airflow_provider.dbt.api_client import DbtApiClient
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"
RETRY_DAG = "retry_dbt_failures"
GOOD_PAYMENTS = "id,customer_id,amount\n1,1,10\n2,1,15\n3,2,20\n"
PG_CONNECTIONS = [*(str(n) for n in range(8)), "killed"]
BUCKET = "dbt-artifacts"


@dataclass
class Deployment:
    cluster: CeleryCluster
    tmp: Path
    shared_repo: Path  # the checkout the deployment's first workers share
    repos: dict[str, Path]  # queue -> a clone of its own, for workers that stand for separate pods
    landing: Path
    evidence: Path
    pg_database: str
    moto: str
    api_env: dict[str, str]
    #: the live workers (queue worker_a, queue worker_b) and what they were started with
    current: tuple[str, str] = ("worker_a", "worker_b")
    current_setup: tuple[Path | None, tuple[tuple[str, str], ...]] = (None, ())
    generation: int = 0

    def workers(self, own_clones: bool = False, **env: str) -> tuple[str, str]:
        """Two live workers consuming worker_a and worker_b, on the shared checkout (or, with
        ``own_clones``, each on a clone of its own) with ``env``: the current ones when they fit
        (worker A's queue given back to it if a test moved it), else new ones. Returns their names."""
        cluster = self.cluster
        setup = (None if own_clones else self.shared_repo, tuple(sorted(env.items())))
        a, b = self.current
        if setup == self.current_setup and a in cluster.processes and b in cluster.processes:
            move_queue(cluster, "worker_a", to=a, away_from=b)
            return a, b
        for name in [n for n in cluster.workers if n in cluster.processes]:
            proc = cluster.processes.pop(name)
            proc.terminate()
            proc.wait(timeout=60)
        self.generation += 1
        names = []
        for queue in ("worker_a", "worker_b"):
            name = f"{queue}_{self.generation}"
            repo = self.repos[queue] if own_clones else self.shared_repo
            start_worker(cluster, queue, name, DATACOVES__REPO_PATH=str(repo), **env)
            names.append(name)
        cluster.wait_for_workers()
        self.current, self.current_setup = (names[0], names[1]), setup
        return self.current


def pg_connection(database: str, n: str) -> dict:
    return {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "login": "postgres",
        "password": f"pgpass-{n}",
        "schema": database,
        "extra": {"schema": f"s_{n}", "threads": 2},
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, dbt_venv, dbt_api_server, moto_server, pg_database) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("production")
    dags = tmp / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "example_dags" / "retry_dbt_dag.py", dags)
    shutil.copy(DAGS / "production_scenarios.py", dags)
    shared_repo = copy_as_git_repo(DEMO_REPO, tmp / "repo_shared")
    repos = {queue: copy_as_git_repo(DEMO_REPO, tmp / f"repo_{queue}") for queue in ("worker_a", "worker_b")}
    landing, evidence = tmp / "landing", tmp / "evidence"
    landing.mkdir()
    evidence.mkdir()
    api_env = dbt_api_server.env(DATACOVES__ENVIRONMENT_SLUG="production")
    env = {
        **dbt_env(dbt_venv),
        **api_env,
        "AIRFLOW_CONN_MAIN": json.dumps({"conn_type": "duckdb", "host": str(tmp / "billing.duckdb")}),
        "BILLING_LANDING_DIR": str(landing),
        "EVIDENCE": str(evidence),
        "AIRFLOW__CORE__PARALLELISM": "20",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "8",
        # a task whose worker died is noticed after 20 s without a heartbeat
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        "AIRFLOW__SCHEDULER__SCHEDULER_ZOMBIE_TASK_THRESHOLD": "20",
        "AIRFLOW__SCHEDULER__ZOMBIE_DETECTION_INTERVAL": "2",
    }
    worker_env = {queue: {"DATACOVES__REPO_PATH": str(shared_repo)} for queue in ("worker_a", "worker_b")}
    with celery_cluster(tmp / "airflow", dags, worker_env=worker_env, **env) as cluster:
        # the connections with passwords live in the metadata database (an AIRFLOW_CONN_* variable
        # would be in every task's environment)
        imports = tmp / "connections.json"
        imports.write_text(json.dumps({f"pg_{n}": pg_connection(pg_database, n) for n in PG_CONNECTIONS}))
        cluster.cli("connections", "import", str(imports))
        imports.unlink()
        deployment = Deployment(
            cluster, tmp, shared_repo, repos, landing, evidence, pg_database, moto_server, api_env
        )
        deployment.current_setup = (shared_repo, ())
        yield deployment


def wait_for_state(cluster: CeleryCluster, dag_id: str, run_id: str, task_id: str, state: str) -> None:
    deadline = time.monotonic() + 300
    while (ti := cluster.task_tries(dag_id, run_id).get(task_id)) is None or ti.state != state:
        assert ti is None or ti.state not in ("success", "failed"), f"{task_id} ended {ti}\n{cluster.logs()}"
        assert time.monotonic() < deadline, f"{task_id} never reached {state}: {ti}\n{cluster.logs()}"
        cluster.check_alive()
        time.sleep(0.3)


def try_hosts(cluster: CeleryCluster, dag_id: str, run_id: str, task_id: str) -> dict[int, str]:
    """try number -> host name of every try of a task instance: earlier tries from the history table,
    or, where Airflow 2.11 keeps none (a plain retry), from the try's log ("... on host <name>")."""
    rows = cluster.sql(
        "select try_number, hostname from task_instance_history"
        " where dag_id = %s and run_id = %s and task_id = %s",
        dag_id,
        run_id,
        task_id,
    )
    rows += cluster.sql(
        "select try_number, hostname from task_instance where dag_id = %s and run_id = %s and task_id = %s",
        dag_id,
        run_id,
        task_id,
    )
    hosts = {int(n): host for n, host in rows}
    for attempt in range(1, max(hosts, default=0)):
        if attempt not in hosts:
            found = re.search(r"on host (\S+)", cluster.task_log(dag_id, run_id, task_id, attempt))
            if found:
                hosts[attempt] = found.group(1)
    return hosts


def overlap(cluster: CeleryCluster, dag_id: str, run_id: str) -> tuple[int, float]:
    """The most task instances of a run that were running at the same moment, and the run's length."""
    rows = cluster.sql(
        "select start_date, end_date from task_instance where dag_id = %s and run_id = %s", dag_id, run_id
    )
    events = sorted([(start, 1) for start, _ in rows] + [(end, -1) for _, end in rows])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak, (max(end for _, end in rows) - min(start for start, _ in rows)).total_seconds()


def staging_dirs(folder: Path) -> list[Path]:
    return sorted(folder.glob("datacoves-stage*"))


def retry_on_the_other_worker(deployment: Deployment, a: str, b: str) -> tuple[str, str, str]:
    """Run the docs' retry DAG with try 1 on worker A and try 2 on worker B; returns the run id and
    both tries' logs."""
    cluster = deployment.cluster
    (deployment.landing / "payments.csv").unlink(missing_ok=True)  # payments land late
    run_id = cluster.trigger(RETRY_DAG)
    wait_for_state(cluster, RETRY_DAG, run_id, "dbt_build", "up_for_retry")
    (deployment.landing / "payments.csv").write_text(GOOD_PAYMENTS)
    move_queue(cluster, "worker_a", to=b, away_from=a)  # the retry (20 s later) can only run on B
    state = cluster.wait_for_run(RETRY_DAG, run_id)
    assert state == "success", f"{cluster.task_tries(RETRY_DAG, run_id)}\n{cluster.logs()}"
    hosts = try_hosts(cluster, RETRY_DAG, run_id, "dbt_build")
    assert hosts == {1: cluster.workers[a].hostname, 2: cluster.workers[b].hostname}, hosts
    try_1 = cluster.task_log(RETRY_DAG, run_id, "dbt_build", 1)
    try_2 = cluster.task_log(RETRY_DAG, run_id, "dbt_build", 2)
    assert "model.billing.payments (error)" in try_1, try_1[-3000:]
    assert "expected_files=['run_results.json'] (of ['run_results.json'])" in try_2, try_2[-3000:]
    assert "dbt build -s result:error+ --state logs" in try_2
    for worker in (cluster.workers[a], cluster.workers[b]):
        assert staging_dirs(worker.tmpdir) == [], worker
    return run_id, try_1, try_2


def test_retry_on_the_other_worker_resumes_from_the_dbt_api(deployment):
    a, b = deployment.workers()
    run_id, try_1, try_2 = retry_on_the_other_worker(deployment, a, b)
    assert "Uploaded run_results.json" in try_1
    assert "Downloaded run_results.json (this task instance) to logs/run_results.json" in try_2
    client = DbtApiClient(DatacovesApiSettings.from_environment(deployment.api_env))
    retried = deployment.tmp / "retried_api.json"
    assert client.download(f"{RETRY_DAG}/{quote(run_id, safe='')}/dbt_build/run_results.json", retried)
    assert node_ids(retried) == RETRIED


def test_sixteen_tasks_at_once_share_nothing(deployment):
    cluster = deployment.cluster
    repo = deployment.shared_repo  # one checkout for both workers
    before = tree_fingerprint(repo)
    a, b = deployment.workers()
    run_id = cluster.trigger("concurrent_tasks")
    state = cluster.wait_for_run("concurrent_tasks", run_id, timeout=600)
    tries = cluster.task_tries("concurrent_tasks", run_id)
    assert state == "success", f"{tries}\n{cluster.logs()}"
    assert len(tries) == 16
    peak, seconds = overlap(cluster, "concurrent_tasks", run_id)
    print(f"16 tasks: all {peak} running at once at the peak; the run took {seconds:.0f} s")
    assert peak == 16
    hosts = cluster.task_hosts("concurrent_tasks", run_id)
    names = {"worker_a": a, "worker_b": b}
    seen_pwd: dict[str, str] = {}
    for task_id, (host, queue) in hosts.items():
        worker = cluster.workers[names[queue]]
        assert host == worker.hostname, (task_id, host)
        out = deployment.evidence / task_id
        env = dict(line.split("=", 1) for line in (out / "env").read_text().splitlines() if "=" in line)
        pwd = (out / "pwd").read_text().strip()
        seen_pwd[task_id] = pwd
        # its own staging folder, below its worker's temp dir
        assert Path(pwd).is_relative_to(worker.tmpdir), (task_id, pwd)
        assert env.get("TMPDIR", str(worker.tmpdir)) == str(worker.tmpdir)  # when the env is passed on
        kind, n = task_id.split("_")
        assert env["TASK_SECRET"] == f"{kind}-secret-{n}", task_id
        others = [f"{k}-secret-{m}" for k in ("bash", "dbt") for m in range(8) if (k, str(m)) != (kind, n)]
        others += [f"pgpass-{m}" for m in PG_CONNECTIONS if not (kind == "dbt" and m == n)]
        visible = (out / "env").read_text()
        log = cluster.task_log("concurrent_tasks", run_id, task_id, 1)
        if kind == "dbt":
            profile = (out / "profiles.yml").read_text()
            visible += profile
            assert f'"schema": "s_{n}"' in profile or f"schema: s_{n}" in profile, profile
            assert env["DBT_ENV_SECRET_DATACOVES_PASSWORD"] == f"pgpass-{n}"
            assert "Completed successfully" in log or "PASS=" in log, log[-3000:]
        leaked = [s for s in others if s in visible + log]
        assert not leaked, f"{task_id} saw {leaked}"
    assert len(set(seen_pwd.values())) == 16, seen_pwd
    # every staging folder is gone, the checkout is untouched
    for name in (a, b):
        assert staging_dirs(cluster.workers[name].tmpdir) == [], name
    assert tree_fingerprint(repo) == before
    # dbt wrote into each task's own schema
    with contextlib.closing(psycopg2.connect(f"{PG_DSN} dbname={deployment.pg_database}")) as db:
        cur = db.cursor()
        cur.execute("select table_schema from information_schema.tables where table_name = 'raw_customers'")
        assert {f"s_{n}" for n in range(8)} <= {row[0] for row in cur.fetchall()}


def test_a_worker_killed_while_dbt_runs(deployment):
    cluster = deployment.cluster
    a, b = deployment.workers()
    run_id = cluster.trigger("dbt_worker_killed")
    worker_a = cluster.workers[a]
    deadline = time.monotonic() + 300
    while not dbt_running(worker_a):
        assert time.monotonic() < deadline, f"dbt never started on {a}\n{cluster.logs()}"
        ti = cluster.task_tries("dbt_worker_killed", run_id).get("dbt_build")
        assert ti is None or ti.state not in ("success", "failed"), f"ended before the kill: {ti}"
        time.sleep(0.1)
    killed = kill_worker(cluster, a)
    assert killed and worker_processes(worker_a) == []
    print(f"killed worker A: {len(killed)} processes")
    move_queue(cluster, "worker_a", to=b)
    state = cluster.wait_for_run("dbt_worker_killed", run_id, timeout=300)
    assert state == "success", f"{cluster.task_tries('dbt_worker_killed', run_id)}\n{cluster.logs()}"
    hosts = try_hosts(cluster, "dbt_worker_killed", run_id, "dbt_build")
    assert hosts == {1: worker_a.hostname, 2: cluster.workers[b].hostname}, hosts
    log = cluster.task_log("dbt_worker_killed", run_id, "dbt_build", 2)
    assert "Completed successfully" in log, log[-3000:]
    assert staging_dirs(cluster.workers[b].tmpdir) == []
    # the dead worker's disk keeps what SIGKILL interrupted (on Kubernetes, the pod's disk goes too)
    assert staging_dirs(worker_a.tmpdir), "the killed try left no staging folder: was dbt running?"


def test_retry_on_the_other_worker_resumes_from_s3(deployment):
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=deployment.moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET)
    a, b = deployment.workers(  # two "pods": each its own clone of the repository
        own_clones=True,
        AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=f"s3://{BUCKET}/team-a",
        AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE_CONN_ID="artifacts_s3",
        AIRFLOW_CONN_ARTIFACTS_S3=aws_connection(deployment.moto),
    )
    run_id, _, try_2 = retry_on_the_other_worker(deployment, a, b)
    key = f"team-a/runs/{RETRY_DAG}/{quote(run_id, safe='')}/dbt_build/run_results.json"
    retried = deployment.tmp / "retried_s3.json"
    s3.download_file(BUCKET, key, str(retried))
    assert node_ids(retried) == RETRIED
    assert f"s3://{BUCKET}/team-a" in try_2


def dbt_running(worker) -> bool:
    for pid in worker_processes(worker):
        try:
            cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"/dbt") for part in cmdline) and b"build" in cmdline:
            return True
    return False
