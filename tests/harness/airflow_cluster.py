"""A real Airflow deployment for tests: PostgreSQL metadata database, LocalExecutor, and the
components of this interpreter's Airflow line (2.x: scheduler; 3.x: api-server, scheduler,
dag-processor), each its own process, as in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.airflow_cli import close_server, run_airflow
from harness.airflow_env import airflow_env
from harness.network import free_port, wait_for_port
from harness.paths import AIRFLOW_BIN, airflow_major
from harness.slow_guard import require_slow
from harness.warehouses import PG_DSN


@dataclass
class TaskTry:
    task_id: str
    state: str | None
    try_number: int


@dataclass
class AirflowCluster:
    home: Path
    env: dict[str, str]
    database: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def sql(self, query: str, *args: object) -> list[tuple]:
        import psycopg2

        with contextlib.closing(
            psycopg2.connect(f"{PG_DSN.replace('dbname=postgres', '')} dbname={self.database}")
        ) as db:
            cur = db.cursor()
            cur.execute(query, args)
            return cur.fetchall()

    def cli(self, *args: str, timeout: int = 120) -> str:
        proc = run_airflow(args, env=self.env, timeout=timeout)
        assert proc.returncode == 0, (
            f"airflow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
        return proc.stdout

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("select 1 from dag where dag_id = %s", dag_id):
                return
            self.check_alive()
            time.sleep(1)
        errors = self.sql("select * from import_error")
        raise AssertionError(
            f"DAG {dag_id} was not parsed within {timeout}s; import errors: {errors}\n{self.logs()}"
        )

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        self.wait_for_dag(dag_id)
        # DAGs are created unpaused ([core] dags_are_paused_at_creation=False) and nothing is
        # scheduled ([scheduler] use_job_schedule=False): only the runs a test triggers run, with
        # one `airflow dags trigger` each and no `airflow dags unpause` start-up (about 3 s of CPU)
        paused = self.sql("select is_paused from dag where dag_id = %s", dag_id)
        assert paused == [(False,)], f"DAG {dag_id} is paused ({paused}): its runs would never start"
        run_id = f"manual__test_{uuid.uuid4().hex[:8]}"
        args = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf:
            args += ["--conf", json.dumps(conf)]
        self.cli(*args)
        return run_id

    def task_tries(self, dag_id: str, run_id: str) -> dict[str, TaskTry]:
        rows = self.sql(
            "select task_id, state, try_number from task_instance where dag_id = %s and run_id = %s",
            dag_id,
            run_id,
        )
        return {r[0]: TaskTry(r[0], r[1], int(r[2] or 0)) for r in rows}

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.sql("select state from dag_run where dag_id = %s and run_id = %s", dag_id, run_id)
        return rows[0][0] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            self.check_alive()
            time.sleep(1)
        raise AssertionError(f"run {run_id} of {dag_id} did not finish within {timeout}s\n{self.logs()}")

    def task_log(self, dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        path = folder / f"attempt={attempt}.log"
        return path.read_text() if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {proc.returncode}\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for name in self.processes:
            path = self.home / f"{name}.out"
            if path.exists():
                parts.append(f"--- {name} ---\n{path.read_text()[-3000:]}")
        return "\n".join(parts)


@contextlib.contextmanager
def airflow_cluster(
    home: Path,
    dags_folder: Path,
    settings: Callable[[str], dict[str, str]] | None = None,
    cluster_factory: Callable[..., AirflowCluster] = AirflowCluster,
    **extra_env: str,
) -> Iterator[AirflowCluster]:
    """Start a LocalExecutor deployment on a new PostgreSQL database; stop it and drop the database after.

    ``settings`` maps the database URL to settings that replace the defaults (another executor);
    ``cluster_factory`` builds the returned cluster (a subclass with more state); ``extra_env`` wins.
    """
    import psycopg2

    require_slow("an Airflow deployment")
    database = f"airflow_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    admin.cursor().execute(f'create database "{database}"')
    home.mkdir(parents=True, exist_ok=True)
    api_port = free_port()
    database_url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    env_settings = dict(
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",  # see trigger()
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",  # only the runs a test triggers
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
        AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL="5",
        AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL="5",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="5",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{api_port}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
        AIRFLOW__WEBSERVER__SECRET_KEY=uuid.uuid4().hex,
        AIRFLOW__CORE__FERNET_KEY="",
    )
    env_settings.update(settings(database_url) if settings else {})
    env_settings.update(extra_env)
    env = airflow_env(home, dags_folder, **env_settings)
    cluster = cluster_factory(home=home, env=env, database=database)
    try:
        cluster.cli("db", "migrate", timeout=300)
        components = ["scheduler"] if airflow_major() < 3 else ["api-server", "scheduler", "dag-processor"]
        for name in components:
            args = [AIRFLOW_BIN, name] + (["--port", str(api_port)] if name == "api-server" else [])
            out = (home / f"{name}.out").open("w")
            cluster.processes[name] = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            if name == "api-server":
                wait_for_port(api_port, 120, cluster.processes[name], home / f"{name}.out")
        yield cluster
    finally:
        close_server(env)  # the warm server of `cluster.cli` is part of the cluster: it ends with it
        for proc in cluster.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in cluster.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        admin.cursor().execute(f'drop database if exists "{database}" with (force)')
        admin.close()
