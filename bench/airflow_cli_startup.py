"""Benchmark: the test suite's ``airflow dags test`` runs, forked from a warm server vs started afresh.

``tests/harness/airflow_cli.py`` runs every ``airflow`` command of the tests in a fork of a server
that has imported Airflow (and, on Airflow 3, built the in-process execution API). This runs the
same one-task ``@task.datacoves_bash`` DAG ``RUNS`` times each way on one SQLite Airflow home and
compares the totals: wall time, and CPU time of everything involved (for the warm way, the server's
start-up is included). The baseline is the plain ``airflow dags test`` subprocess the tests used before.

Run: .venvs/af3/bin/python bench/airflow_cli_startup.py   (or .venvs/af2/bin/python for Airflow 2.11)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test harness

from harness import airflow_cli  # noqa: E402
from harness.airflow_env import airflow_env, task_states  # noqa: E402
from harness.paths import AIRFLOW_BIN  # noqa: E402

GOAL = 0.5
RUNS = 5

DAG = """from airflow.decorators import dag, task
from pendulum import datetime


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def bench_cli():
    @task.datacoves_bash
    def hello() -> str:
        return "echo hello from $DATACOVES__REPO_PATH"

    hello()


bench_cli()
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check(proc: subprocess.CompletedProcess, home: Path) -> None:
    """The run succeeded: exit code 0 and the task's state in the database."""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert task_states(home, "bench_cli") == {"hello": "success"}, proc.stdout[-3000:]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = Path(tmp) / "home", Path(tmp) / "repo"
        (home / "dags").mkdir(parents=True)
        (home / "dags" / "bench_cli.py").write_text(DAG)
        repo.mkdir()
        (repo / "README.md").write_text("a repository\n")
        env = airflow_env(home, DATACOVES__REPO_PATH=str(repo))
        argv = [AIRFLOW_BIN, "dags", "test", "bench_cli", "2024-01-02"]
        subprocess.run([AIRFLOW_BIN, "db", "migrate"], env=env, capture_output=True, check=True)

        cpu, start = children_cpu(), time.perf_counter()
        for _ in range(RUNS):
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
            check(proc, home)
        plain_wall, plain_cpu = time.perf_counter() - start, children_cpu() - cpu

        forked_cpu, start = 0.0, time.perf_counter()
        for _ in range(RUNS):
            proc = airflow_cli.run_airflow(argv[1:], env=env, timeout=600)
            check(proc, home)
            forked_cpu += airflow_cli.last_command_cpu
        warm_wall = time.perf_counter() - start
        server = airflow_cli._servers[airflow_cli.configuration_key(env)]
        assert server is not None
        warm_cpu = forked_cpu + process_cpu(server.process.pid)
        airflow_cli.close_all()

    print(f"{RUNS} x `airflow dags test` of a one-task @task.datacoves_bash DAG:")
    print(
        f"  plain subprocess: {plain_wall:6.1f} s wall, {plain_cpu:6.1f} s CPU ({plain_cpu / RUNS:.2f}/run)"
    )
    print(
        f"  warm server:      {warm_wall:6.1f} s wall, {warm_cpu:6.1f} s CPU "
        f"({forked_cpu / RUNS:.2f} s CPU per forked run, server start-up included in the total)"
    )
    print(f"  CPU ratio {warm_cpu / plain_cpu:.3f}")
    print(f"BENCH airflow_cli_startup ratio={warm_wall / plain_wall:.3f} goal={GOAL}")


if __name__ == "__main__":
    main()
