"""A real CeleryExecutor deployment for tests: ``airflow_cluster`` (fresh PostgreSQL metadata
database; 2.x scheduler, 3.x api-server + scheduler + dag-processor) with the executor switched to
Celery, a Redis broker in a database of its own (1-15, claimed and flushed at start and stop), the
Celery result backend in the cluster's PostgreSQL database, and one ``airflow celery worker`` per
queue, each with its own hostname and TMPDIR, as if on its own machine.

Everything started is stopped afterwards, even when the test fails: airflow_cluster stops the
process groups (SIGTERM, then SIGKILL) and drops the database; then any process still carrying the
cluster's marker variable (task processes put themselves in process groups of their own) is
killed, and the Redis database is flushed and released.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.airflow_cluster import AirflowCluster, airflow_cluster
from harness.network import free_port
from harness.paths import AIRFLOW_BIN, TESTS
from harness.slow_guard import require_slow

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: Set in every process of a cluster (inherited by workers and their task processes).
MARKER_VAR = "AIRFLOW_TEST_CLUSTER_ID"
#: The name a worker and its tasks report as their host (see worker_hostname).
HOSTNAME_VAR = "AIRFLOW_TEST_WORKER_HOSTNAME"
CLAIM_KEY = "airflow-test-cluster:claim"
CLAIM_TTL = 3600
# Claim a database nobody holds and flush it, atomically; release it only if it is still ours.
_CLAIM = (
    "if redis.call('exists', KEYS[1]) == 0 then redis.call('flushdb');"
    " redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]); return 1 end return 0"
)
_RELEASE = (
    "local owner = redis.call('get', KEYS[1]);"
    " if owner == false or owner == ARGV[1] then redis.call('flushdb'); return 1 end return 0"
)


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the test workers: the host name a worker was given (all run on
    this machine, so ``socket.getfqdn()`` would be the same for every worker)."""
    return os.environ.get(HOSTNAME_VAR) or socket.getfqdn()


def redis_client(db: int):
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)


def claim_redis_db(owner: str) -> int:
    """A Redis database (1-15) no other test cluster holds, emptied and marked as ``owner``'s."""
    for db in random.sample(range(1, 16), 15):
        with contextlib.closing(redis_client(db)) as client:
            if client.eval(_CLAIM, 1, CLAIM_KEY, owner, CLAIM_TTL):
                return db
    raise AssertionError(f"Redis databases 1-15 on {REDIS_HOST}:{REDIS_PORT} are all claimed")


def release_redis_db(db: int, owner: str) -> None:
    with contextlib.closing(redis_client(db)) as client:
        client.eval(_RELEASE, 1, CLAIM_KEY, owner)


def marked_processes(marker: str) -> list[int]:
    """Our processes whose environment has ``MARKER_VAR=marker``, or whose command line names one
    of the cluster's workers (a Celery process title overwrites the environ /proc shows, in the
    worker and in the processes it forks; worker host names end with the marker's first 8 digits)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    worker_name = f"-{marker[:8]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0") or (
                b"celery" in (cmdline := (entry / "cmdline").read_bytes()) and worker_name in cmdline
            ):
                found.append(int(entry.name))
    return found


def kill_marked(marker: str) -> list[str]:
    """SIGKILL what is left of a cluster; returns the command lines it killed."""
    killed = []
    for pid in marked_processes(marker):
        with contextlib.suppress(OSError):
            cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            os.kill(pid, signal.SIGKILL)
            killed.append(f"{pid}: {cmdline.decode(errors='replace').strip()}")
    deadline = time.monotonic() + 10
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return killed


@dataclass
class CeleryWorker:
    queue: str
    hostname: str  # Celery node name (celery@<hostname>) and Airflow's task_instance.hostname
    tmpdir: Path
    log: Path


@dataclass
class CeleryCluster(AirflowCluster):
    marker: str = ""
    redis_db: int = 0
    workers: dict[str, CeleryWorker] = field(default_factory=dict)
    #: Processes still running after the graceful stop (killed by the final sweep).
    leftovers: list[str] = field(default_factory=list)

    def redis_keys(self) -> list[str]:
        with contextlib.closing(redis_client(self.redis_db)) as client:
            return sorted(k.decode() for k in client.keys("*"))

    def task_hosts(self, dag_id: str, run_id: str) -> dict[str, tuple[str | None, str | None]]:
        """task_id -> (hostname, queue) as Airflow recorded them."""
        rows = self.sql(
            "select task_id, hostname, queue from task_instance where dag_id = %s and run_id = %s",
            dag_id,
            run_id,
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def wait_for_workers(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.workers)
        while pending and time.monotonic() < deadline:
            for name, worker in list(pending.items()):
                if worker.log.exists() and f"@{worker.hostname} ready." in worker.log.read_text():
                    del pending[name]
            self.check_alive()
            time.sleep(0.5)
        if pending:
            raise AssertionError(f"workers {sorted(pending)} not ready within {timeout}s\n{self.logs()}")


def celery_env(database_url: str, marker: str, redis_db: int, default_queue: str) -> dict[str, str]:
    """What CeleryExecutor needs instead of airflow_cluster's LocalExecutor (every component)."""
    return {
        MARKER_VAR: marker,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{database_url.split('://', 1)[1]}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "3600",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": default_queue,
    }


@contextlib.contextmanager
def celery_cluster(
    home: Path,
    dags_folder: Path,
    queues: tuple[str, ...] = ("worker_a", "worker_b"),
    worker_env: dict[str, dict[str, str]] | None = None,
    **extra_env: str,
) -> Iterator[CeleryCluster]:
    """Start a CeleryExecutor deployment with one worker per queue (the first is [operators]
    default_queue); ``extra_env`` goes to every component and overrides any setting;
    ``worker_env[queue]`` goes to that queue's worker only."""
    marker = uuid.uuid4().hex
    redis_db = claim_redis_db(marker)
    created: list[CeleryCluster] = []

    def new_cluster(**kwargs) -> CeleryCluster:
        created.append(CeleryCluster(marker=marker, redis_db=redis_db, **kwargs))
        return created[-1]

    try:
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(
                airflow_cluster(
                    home,
                    dags_folder,
                    settings=lambda database_url: celery_env(database_url, marker, redis_db, queues[0]),
                    cluster_factory=new_cluster,
                    **extra_env,
                )
            )
            assert isinstance(cluster, CeleryCluster)
            # drain the workers before airflow_cluster stops the rest (running tasks get 30 s to end,
            # 5 s when the test failed)
            drain = {"timeout": 5.0}
            stack.callback(lambda: stop_workers(cluster, drain["timeout"]))
            for queue in queues:
                start_worker(cluster, queue, **(worker_env or {}).get(queue, {}))
            cluster.wait_for_workers()
            yield cluster
            drain["timeout"] = 30.0  # reached only when the test passed
    finally:
        leftovers = kill_marked(marker)
        for cluster in created:
            cluster.leftovers = leftovers
        release_redis_db(redis_db, marker)


def stop_workers(cluster: CeleryCluster, timeout: float = 30) -> None:
    """Drain the workers while the rest still runs: SIGTERM to each worker's main process (Celery's
    warm shutdown lets running tasks finish), then SIGKILL to the process groups of those not done."""
    procs = [cluster.processes[name] for name in cluster.workers if name in cluster.processes]
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start_worker(cluster: CeleryCluster, queue: str, name: str | None = None, **env: str) -> CeleryWorker:
    """``airflow celery worker`` consuming ``queue`` only, as host ``<name>-<id>`` with its own TMPDIR
    (``name`` defaults to the queue; ``env`` is added to this worker's environment only)."""
    require_slow("airflow celery worker")
    name = name or queue
    hostname = f"{name.replace('_', '-')}-{cluster.marker[:8]}"
    tmpdir = cluster.home / f"tmp_{name}"
    tmpdir.mkdir()
    worker = CeleryWorker(queue, hostname, tmpdir, cluster.home / f"{name}.out")
    worker_env = {
        **cluster.env,
        "TMPDIR": str(tmpdir),
        HOSTNAME_VAR: hostname,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{worker_hostname.__module__}.worker_hostname",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(TESTS), cluster.env.get("PYTHONPATH")])
        ),
        # each worker serves its task logs on a port of its own
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        **env,
    }
    args = ["celery", "worker", "--queues", queue, "--celery-hostname", hostname]
    args += ["--pid", str(cluster.home / f"{name}.pid")]
    with worker.log.open("w") as out:
        cluster.processes[name] = subprocess.Popen(
            [AIRFLOW_BIN, *args], env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    cluster.workers[name] = worker
    return worker


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def worker_processes(worker: CeleryWorker, pid: int | None = None) -> list[int]:
    """Every process of a worker: those carrying its host name in their environment (exec'd
    processes: a Celery process title overwrites the environ that /proc shows for the worker and
    the processes it forks) and, given the worker's pid, everything below it."""
    needle = f"{HOSTNAME_VAR}={worker.hostname}".encode()
    found = set(descendants(pid)) if pid else set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
    return sorted(found)


def kill_worker(cluster: CeleryCluster, name: str) -> list[int]:
    """SIGKILL every process of worker ``name`` at once, as when its machine or pod dies (frozen
    with SIGSTOP first, so that none reacts to another's death); it leaves ``cluster.processes``
    (so check_alive does not count it) and is not drained at the end."""
    worker = cluster.workers[name]
    proc = cluster.processes.pop(name)
    pids = [proc.pid, *worker_processes(worker, proc.pid)]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not _is_zombie(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes of {name} survived SIGKILL"
        time.sleep(0.1)
    return pids


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def celery_control(cluster: CeleryCluster):
    """A Celery app on the cluster's broker, for remote control of its workers."""
    from celery import Celery

    return Celery(broker=cluster.env["AIRFLOW__CELERY__BROKER_URL"])


def move_queue(cluster: CeleryCluster, queue: str, to: str, away_from: str | None = None) -> None:
    """Make worker ``to`` consume ``queue`` and worker ``away_from`` (if given and alive) stop
    consuming it, through Celery's remote control; waits until both workers confirm."""
    app = celery_control(cluster)
    try:
        if away_from is not None:
            node = f"celery@{cluster.workers[away_from].hostname}"
            replies = app.control.cancel_consumer(queue, destination=[node], reply=True, timeout=10)
            assert replies, f"{node} did not confirm that it stopped consuming {queue}"
            _wait_for_queue(app, node, queue, consumed=False)
        node = f"celery@{cluster.workers[to].hostname}"
        replies = app.control.add_consumer(queue, destination=[node], reply=True, timeout=10)
        assert replies, f"{node} did not confirm that it consumes {queue}"
        _wait_for_queue(app, node, queue, consumed=True)
    finally:
        app.close()


def _wait_for_queue(app, node: str, queue: str, consumed: bool, timeout: float = 30) -> None:
    """Wait until ``node`` lists (or no longer lists) ``queue`` among its active queues. Celery
    applies add_consumer and cancel_consumer with call_soon on the worker's event loop, so the
    reply can come before the change has happened."""
    deadline = time.monotonic() + timeout
    while True:
        active = app.control.inspect(destination=[node], timeout=10).active_queues() or {}
        if (queue in {q["name"] for q in active.get(node, [])}) == consumed:
            return
        assert time.monotonic() < deadline, f"{node} consumed={not consumed} for {queue}: {active}"
        time.sleep(0.5)
