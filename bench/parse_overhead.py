"""Benchmark: DagBag parse time of 100 DAG files using @task.datacoves_bash vs 100 using @task.bash.

Each parse runs in a fresh interpreter (as a DAG processor does after a restart), so the cost of
importing our modules is included; the two kinds alternate over five rounds and medians are compared.

Run: .venvs/af3/bin/python bench/parse_overhead.py   (or .venvs/af2/bin/python for Airflow 2.11)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GOAL = 1.10
ROUNDS = 5
FILES = 100

TEMPLATE = """from airflow.decorators import dag, task
from pendulum import datetime


@dag(schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"],
     default_args={{"retries": 2, "owner": "bench"}})
def bench_{kind}_{i}():
    @task.{decorator}(env={{"TARGET": "{{{{ var.value.target }}}}"}}, append_env=True)
    def step_a() -> str:
        return "echo a"

    @task.{decorator}
    def step_b() -> str:
        return "echo b"

    step_a() >> step_b()


bench_{kind}_{i}()
"""

PARSE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import airflow
try:
    from airflow.dag_processing.dagbag import DagBag
    kwargs = {}
except ImportError:
    from airflow.models.dagbag import DagBag
    kwargs = {"include_examples": False}
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], **kwargs)
elapsed = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags)}))
"""


def parse(folder: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dags"] == FILES, result
    return float(result["seconds"])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        folders = {}
        for kind, decorator in (("ours", "datacoves_bash"), ("baseline", "bash")):
            folder = Path(tmp) / kind
            folder.mkdir()
            for i in range(FILES):
                (folder / f"dag_{i:03d}.py").write_text(TEMPLATE.format(kind=kind, i=i, decorator=decorator))
            folders[kind] = folder
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _ in range(ROUNDS):
            for kind in ("baseline", "ours"):
                times[kind].append(parse(folders[kind]))
        from airflow import __version__

        ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
        print(f"Airflow {__version__}: {FILES} DAG files, 2 tasks each, fresh interpreter per parse")
        print(f"@task.datacoves_bash {[round(t, 3) for t in times['ours']]} s")
        print(f"@task.bash           {[round(t, 3) for t in times['baseline']]} s")
        print(f"median: ours {ours:.3f}s, baseline {base:.3f}s")
        print(f"BENCH parse_overhead ratio={ours / base:.3f} goal={GOAL}")


if __name__ == "__main__":
    main()
