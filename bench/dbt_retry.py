"""Benchmark: a dbt retry that reruns only what failed vs a full ``dbt build`` of the same project.

Inputs are built here: a git repository with a 200-model DuckDB dbt project in ``transform/``
(40 staging models generating their rows, 80 intermediate models with chains of 1-3 refs, 50 marts
with fan-in of 2-4 refs, 30 reports with 2-5 refs; a ``not_null`` test on every other model). Every
model is a table that also does a realistic warehouse cost of DuckDB work (an aggregate over
``range(n)``, ``n`` calibrated at start-up so one query alone takes about 0.2 s; no sleep()).
Five models, spread over the DAG (one staging, two intermediate, two marts, each with children,
none downstream of another), join a landing file (``read_csv`` of ``landing/feed_<k>.csv``,
outside the repository) that is missing on the first try and lands before the retry, as late
data does.

Both sides are ``@task.datacoves_dbt`` tasks with the artifact store (``dbt_api_enabled=True``, the
folder store; ``upload_static_artifacts=True`` so both get partial parsing, as in a Datacoves
deployment) executed the way a worker does (templates rendered, ``execute(context)``), with
dbt's ``threads`` at 4 (the operator's default for a connection without ``threads``: what a real
user has):

* ours: the docs' retry (docs/dbt-artifacts.md, example_dags/retry_dbt_dag.py):
  ``download_run_results=True``, ``expected_files=["run_results.json"]``; the first try runs
  ``dbt build``, fails on the five models and uploads its run_results.json; the retry (same run,
  try 2) downloads it and runs ``dbt build -s result:error+ --state logs``. Only the retry is timed.
* baseline: the same project's full ``dbt build`` (what a retry without stored results reruns),
  after the files have landed.

Each round: first try (untimed), then the retry and the full build in alternating order; medians
over three rounds (a round takes about two full builds; three keep a run under ten minutes on
2 cores). dbt's fixed cost (start-up and parse) is the dbt process's wall time minus the
``elapsed`` of its run_results.json (execution of the nodes).

Run: .venvs/af3/bin/python bench/dbt_retry.py   (or .venvs/af2/bin/python)
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbt_task_overhead as task_bench  # the task runner and task-log reader

GOAL = 0.1
ROUNDS = 3
MODELS = 200
FAILING = 5
MODEL_SECONDS = 0.2  # DuckDB work per model (one query alone)
DAG_ID = "bench_dbt_retry"
RETRY_COMMAND = "dbt build -s result:error+ --state logs"


# -- inputs ----------------------------------------------------------------------------------------


def calibrate_work_rows() -> tuple[int, float]:
    """Rows of ``range(n)`` whose hash aggregate takes MODEL_SECONDS in DuckDB here (dbt's venv)."""
    probe = 50_000_000
    code = (
        "import duckdb, statistics, time\n"
        "con = duckdb.connect()\n"
        "times = []\n"
        "for _ in range(5):\n"
        "    t = time.perf_counter()\n"
        f"    con.execute('select sum(hash(range)) % 1000 from range({probe})').fetchall()\n"
        "    times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times))\n"
    )
    out = subprocess.run(
        [str(task_bench.DBT_VENV / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True
    )
    seconds = float(out.stdout.strip())
    return max(1_000_000, int(probe * MODEL_SECONDS / seconds)), seconds


def build_graph(seed: int = 18) -> dict[str, list[str]]:
    """Model name -> the models it refs (in build order)."""
    rng = random.Random(seed)
    n_stg, n_int, n_mart = int(MODELS * 0.2), int(MODELS * 0.4), int(MODELS * 0.25)
    n_rep = MODELS - n_stg - n_int - n_mart
    graph: dict[str, list[str]] = {}
    stg = [f"stg_{i:03d}" for i in range(n_stg)]
    for name in stg:
        graph[name] = []
    ints: list[str] = []
    for i in range(n_int):
        name = f"int_{i:03d}"
        graph[name] = rng.sample(stg + ints[-20:], rng.randint(1, 3))
        ints.append(name)
    marts = [f"fct_{i:03d}" for i in range(n_mart)]
    for name in marts:
        graph[name] = rng.sample(ints, rng.randint(2, 4))
    for i in range(n_rep):
        graph[f"rpt_{i:03d}"] = rng.sample(marts, rng.randint(2, 5))
    return graph


def descendants(graph: dict[str, list[str]], name: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for child, parents in graph.items():
        for parent in parents:
            children.setdefault(parent, []).append(child)
    seen: set[str] = set()
    todo = [name]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def pick_failing(graph: dict[str, list[str]]) -> list[str]:
    """One model per band (staging; early and late intermediate; early and late marts): the one
    with the fewest descendants among those that have at least two (failures with children)."""
    names = list(graph)
    stg = [n for n in names if n.startswith("stg_")]
    ints = [n for n in names if n.startswith("int_")]
    marts = [n for n in names if n.startswith("fct_")]
    half_i, half_m = len(ints) // 2, len(marts) // 2
    bands = [stg, ints[:half_i], ints[half_i:], marts[:half_m], marts[half_m:]]
    picked: list[str] = []
    below: set[str] = set()  # the picked models and their descendants
    for band in bands:
        counts = [
            (len(down), n)
            for n in band
            for down in [descendants(graph, n)]
            if len(down) >= 2 and n not in below and not down & set(picked)  # independent failures
        ]
        name = min(counts)[1]
        picked.append(name)
        below |= {name} | descendants(graph, name)
    return picked


def model_sql(name: str, parents: list[str], failing: dict[str, Path]) -> str:
    work = "(select sum(hash(range + {seed})) % 1000 from range({{{{ var('work_rows') }}}}))"
    work = work.format(seed=sum(map(ord, name)))
    if not parents:
        sql = f"select range as id, range * 1.5 as amount, {work} as work\nfrom range(1000)\n"
    else:
        sql = "select\n    p0.id,\n    p0.amount"
        sql += "".join(f" + coalesce(p{k}.amount, 0)" for k in range(1, len(parents)))
        sql += f" as amount,\n    {work} as work\nfrom {{{{ ref('{parents[0]}') }}}} as p0\n"
        sql += "".join(
            f"left join {{{{ ref('{p}') }}}} as p{k} on p{k}.id = p0.id\n"
            for k, p in enumerate(parents[1:], 1)
        )
    if name in failing:  # the late landing file: missing on the first try
        sql = (
            f"with landed as (select * from read_csv('{failing[name]}', header = true))\n"
            f"select base.*, landed.bonus from ({sql}) as base left join landed on landed.id = base.id\n"
        )
    return "{{ config(materialized='table') }}\n" + sql


def build_repo(root: Path, landing: Path, work_rows: int) -> tuple[dict[str, list[str]], list[str]]:
    graph = build_graph()
    failing = pick_failing(graph)
    files = {name: landing / f"feed_{k}.csv" for k, name in enumerate(failing)}
    project = root / "transform"
    task_bench._write(
        project / "dbt_project.yml",
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: default\nmodel-paths: ['models']\n"
        f"vars:\n  work_rows: {work_rows}\n",
    )
    schema = ["version: 2", "", "models:"]
    for i, (name, parents) in enumerate(graph.items()):
        folder = name.split("_")[0]
        task_bench._write(project / "models" / folder / f"{name}.sql", model_sql(name, parents, files))
        if i % 2 == 0:
            schema += [f"  - name: {name}", "    columns:", "      - name: id", "        data_tests:"]
            schema += ["          - not_null"]
    task_bench._write(project / "models" / "schema.yml", "\n".join(schema) + "\n")
    task_bench._write(root / ".gitignore", "transform/target/\ntransform/logs/\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench project"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    return graph, failing


def land(landing: Path, count: int) -> None:
    landing.mkdir(exist_ok=True)
    for k in range(count):
        (landing / f"feed_{k}.csv").write_text("id,bonus\n" + "".join(f"{i},{i % 7}\n" for i in range(1000)))


def unland(landing: Path) -> None:
    for path in landing.glob("feed_*.csv"):
        path.unlink()


# -- tasks -----------------------------------------------------------------------------------------


def build_tasks() -> tuple[Any, Any]:
    """The docs' retry task, and the same project's full build; both with the artifact store."""
    from datetime import timedelta

    import pendulum

    try:
        from airflow.sdk import dag, task
    except ImportError:  # Airflow 2
        from airflow.decorators import dag, task

    @dag(dag_id=DAG_ID, schedule=None, start_date=pendulum.datetime(2024, 1, 1))
    def bench_dbt_retry() -> None:
        @task.datacoves_dbt(
            project_dir="transform",
            connection_id="bench",
            dbt_api_enabled=True,
            download_run_results=True,
            upload_static_artifacts=True,
            retries=1,
            retry_delay=timedelta(seconds=20),
        )
        def dbt_build(expected_files: list | None = None) -> str:
            if expected_files:
                return RETRY_COMMAND
            return "dbt build"

        @task.datacoves_dbt(
            project_dir="transform", connection_id="bench", dbt_api_enabled=True, upload_static_artifacts=True
        )
        def full_build() -> str:
            return "dbt build"

        dbt_build(expected_files=["run_results.json"])
        full_build()

    dag_obj = bench_dbt_retry()
    return dag_obj.get_task("dbt_build"), dag_obj.get_task("full_build")


def run_task(op: Any, run_id: str, try_number: int, log_path: Path) -> tuple[float, float, bool]:
    """(wall seconds of the task, seconds of its dbt process, whether it succeeded). The rest of the
    task's time is ours: staging, the store's downloads and uploads, removing the copy."""
    context = task_bench.minimal_context(op, 0)
    context["run_id"] = context["dag_run"].run_id = context["ti"].run_id = run_id
    context["ti"].try_number = try_number
    offset = log_path.stat().st_size
    wall0, start = time.time(), time.perf_counter()
    op.render_template_fields(context)
    ok = True
    try:
        task_bench.execute_like_task_runner(op, context)
    except Exception as exc:  # a failed dbt build: AirflowException
        if "dbt command failed" not in str(exc) and "exit code" not in str(exc):
            raise
        ok = False
    elapsed = time.perf_counter() - start
    split = task_bench.phases(task_bench.read_task_log(log_path, offset), wall0, wall0 + elapsed)
    return elapsed, split["dbt"], ok


def stored_run_results(store_root: Path, task_id: str, run_id: str) -> dict[str, Any]:
    """The run_results.json the task uploaded, read back through the store's public class."""
    from datacoves_airflow_provider.dbt.artifact_store import ArtifactKey, LocalArtifactStore, RunScope

    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "run_results.json"
        key = ArtifactKey("run_results.json", RunScope(DAG_ID, run_id, task_id), run_id)
        assert LocalArtifactStore(store_root).download(key, dest), (
            f"no run_results.json for {task_id} {run_id}"
        )
        return json.loads(dest.read_text())


def statuses(results: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    if not (task_bench.DBT_VENV / "bin" / "dbt").exists():
        raise SystemExit(f"{task_bench.DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt")
    bench_start = time.perf_counter()
    work_rows, probe_seconds = calibrate_work_rows()
    with tempfile.TemporaryDirectory(prefix="bench-dbt-retry-") as tmp_name:
        tmp = Path(tmp_name)
        landing = tmp / "landing"
        landing.mkdir()
        graph, failing = build_repo(tmp / "repo", landing, work_rows)
        selected = set(failing).union(*(descendants(graph, n) for n in failing))
        store_root = tmp / "store"
        task_bench.worker_environment(
            tmp,
            tmp / "repo",
            tmp / "warehouse.duckdb",
            AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=str(store_root),
        )
        from airflow import __version__

        task_log = tmp / "task.log"
        task_log.touch()
        task_bench.configure_task_log(task_log)
        retry_op, full_op = build_tasks()

        times: dict[str, list[float]] = {"retry": [], "full": []}
        overhead: dict[str, list[float]] = {"retry": [], "full": []}
        outside: dict[str, list[float]] = {"retry": [], "full": []}
        nodes: dict[str, dict[str, int]] = {}
        first_try: list[float] = []
        for i in range(1, ROUNDS + 1):
            run_id = f"manual__bench_retry_{i}"
            unland(landing)
            elapsed, _, ok = run_task(retry_op, run_id, 1, task_log)
            assert not ok, "the first try should fail: the landing files are missing"
            first_try.append(elapsed)
            nodes["first try"] = statuses(stored_run_results(store_root, "dbt_build", run_id))
            land(landing, FAILING)
            for kind in ("retry", "full") if i % 2 else ("full", "retry"):
                if kind == "retry":
                    elapsed, dbt_seconds, ok = run_task(retry_op, run_id, 2, task_log)
                    results = stored_run_results(store_root, "dbt_build", run_id)
                else:
                    elapsed, dbt_seconds, ok = run_task(full_op, run_id, 1, task_log)
                    results = stored_run_results(store_root, "full_build", run_id)
                assert ok, f"the {kind} failed; see {task_log}"
                times[kind].append(elapsed)
                overhead[kind].append(dbt_seconds - float(results["elapsed_time"]))
                outside[kind].append(elapsed - dbt_seconds)
                nodes[kind] = statuses(results)
        text = task_log.read_text(errors="replace")
        assert "expected_files=['run_results.json']" in text, "the retry never received run_results.json"
        full_parses = text.count("Unable to do partial parsing")
        leftovers = list((tmp / "stage").iterdir())
        assert not leftovers, f"staging folders left behind: {leftovers}"

    retry, full = statistics.median(times["retry"]), statistics.median(times["full"])
    print(
        f"Airflow {__version__}: {MODELS}-model DuckDB project (+{MODELS // 2} not_null tests), "
        "dbt threads 4, "
        f"{work_rows:,} rows of DuckDB work per model (probe: 50M rows in {probe_seconds:.3f} s, "
        f"so ~{MODEL_SECONDS} s per model alone)"
    )
    print(f"failing models: {', '.join(failing)} ({len(selected)} models with their descendants)")
    print(f"first try (untimed, fails): {[round(t, 1) for t in first_try]} s; nodes {nodes['first try']}")
    for kind, label in (("retry", f"retry `{RETRY_COMMAND}`"), ("full", "full `dbt build`")):
        print(
            f"{label:52s} {[round(t, 2) for t in times[kind]]} s, "
            f"median {statistics.median(times[kind]):.2f} s; "
            f"nodes {nodes[kind]} ({sum(nodes[kind].values())}); dbt start-up + parse "
            f"(process wall - run_results elapsed) median {statistics.median(overhead[kind]):.2f} s; "
            f"task outside dbt (staging, store, clean-up) median {statistics.median(outside[kind]):.2f} s"
        )
    print(f"full parses in the log: {full_parses} (the first try of round 1 finds no partial_parse.msgpack)")
    print(f"rounds {ROUNDS}; whole bench {time.perf_counter() - bench_start:.0f} s")
    print(f"BENCH dbt_retry ratio={retry / full:.3f} goal={GOAL}")


if __name__ == "__main__":
    task_bench.run_main(main)
