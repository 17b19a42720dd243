"""Benchmark: what the artifact store's static artifacts save a dbt task (partial parsing).

A task's repository copy carries no ``target/``, so without the store dbt parses the whole project
on every task run. With ``dbt_api_enabled=True`` the task downloads ``partial_parse.msgpack`` (and
the other static artifacts) that an earlier run uploaded, and dbt re-parses only what changed.

Inputs are built here: the 500-model / ~900-test DuckDB project of ``dbt_task_overhead.py`` in a git
repository, and the reference dbt API server (``datacoves_airflow_provider.testing.datacoves_api_server``)
on 127.0.0.1 with its files on a local disk, so every transfer goes over real HTTP.

* ours: ``@task.datacoves_dbt(..., dbt_api_enabled=True, upload_static_artifacts=True)`` running
  ``dbt ls``: downloads the static artifacts, runs dbt, uploads run_results.json and the static
  artifacts again.
* baseline: the same task without the store (``dbt_api_enabled=False``): a full parse every time.

Both are executed the way a worker does it (templates rendered, ``execute(context)``), with the
same minimal context as ``dbt_task_overhead.py``. One untimed warm-up of each (ours uploads the
first artifacts then), then five alternating rounds; medians are compared.

Run: .venvs/af3/bin/python bench/dbt_artifact_cache.py   (or .venvs/af2/bin/python)
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbt_task_overhead as task_bench  # the shared project builder and task runner

GOAL = 0.8
ROUNDS = 5
TOKEN = "bench-token-0123456789"


def build_tasks() -> list[Any]:
    """Two @task.datacoves_dbt tasks running ``dbt ls``: with the artifact store, and without."""
    return task_bench.build_dbt_tasks(
        "bench_dbt_artifact_cache",
        with_store=("dbt ls", {"dbt_api_enabled": True, "upload_static_artifacts": True}),
        without_store=("dbt ls", {}),
    )


def main() -> None:
    if not (task_bench.DBT_VENV / "bin" / "dbt").exists():
        raise SystemExit(f"{task_bench.DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt")
    with tempfile.TemporaryDirectory(prefix="bench-dbt-artifacts-") as tmp_name:
        tmp = Path(tmp_name)
        repo = task_bench.build_dbt_repo(tmp / "repo")
        database = tmp / "warehouse.duckdb"
        server, task_log = task_bench.start_api_store_worker(tmp, repo, database, TOKEN)
        from airflow import __version__

        ours_op, base_op = build_tasks()

        task_bench.run_ours(ours_op, 0, task_log)  # warm-up; uploads the first static artifacts
        task_bench.run_ours(base_op, 0, task_log)
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        dbt_times: dict[str, list[float]] = {"ours": [], "baseline": []}
        for i in range(1, ROUNDS + 1):
            for kind in ("ours", "baseline") if i % 2 else ("baseline", "ours"):
                elapsed, split = task_bench.run_ours(ours_op if kind == "ours" else base_op, i, task_log)
                times[kind].append(elapsed)
                dbt_times[kind].append(split["dbt"])
        text = task_log.read_text(errors="replace")
        assert "Downloaded partial_parse.msgpack" in text, "the static artifacts were never downloaded"
        reparse = re.findall(r"Unable to do partial parsing[^\"\n]*", text)
        leftovers = list((tmp / "stage").iterdir())
        assert not leftovers, f"staging folders left behind: {leftovers}"
        stored = sorted(p.parent.parent.name for p in (tmp / "dbt_api").rglob("meta.json"))
        server.shutdown()

    ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
    print(f"Airflow {__version__}: `dbt ls` on {task_bench.MODELS} models through @task.datacoves_dbt")
    dbt_base, dbt_ours = statistics.median(dbt_times["baseline"]), statistics.median(dbt_times["ours"])
    print(f"  without the store (full parse):        {base:6.2f} s  (dbt {dbt_base:.2f} s)")
    print(f"  with the store (partial parse, HTTP):  {ours:6.2f} s  (dbt {dbt_ours:.2f} s)")
    print(
        f"  full parses: {len(reparse)} (expected {ROUNDS + 2}: every baseline run, and our first, which "
        f"found no artifacts yet); files in the store: {len(stored)}"
    )
    print(f"BENCH dbt_artifact_cache ratio={ours / base:.3f} goal={GOAL}")


if __name__ == "__main__":
    main()
