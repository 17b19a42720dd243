"""Benchmark: syncing 1,000,000 realistic task_instance rows, ours against dlt and against the COPY floor.

Inputs are built here: a fresh PostgreSQL database migrated by this interpreter's Airflow, topped up
with 1,000,000 task instances (``tests/harness/metadata_seed.py``: a month of runs
in every state, pickled ``executor_config``, JSON columns), and empty destinations (a PostgreSQL
database on the same server, DuckDB files in a temporary folder). Every measurement runs in its own
process; ``/usr/bin/time`` gives its peak RSS.

* ours: ``DataSync`` (what ``@task.datacoves_airflow_db_sync`` runs) with ``tables=["task_instance"]``:
  a full refresh into an empty schema (stage table, swap, primary key), then an incremental re-sync
  after 1% of the rows changed.
* baseline: dlt's ``sql_table`` source with ``backend="pyarrow"`` (the engine of the reference tool,
  in its fastest configuration), in the separate bench virtualenv (``scripts/bootstrap.sh bench``):
  ``bench/db_sync_baselines.py dlt``.
* floor: PostgreSQL's own ``COPY ... TO STDOUT`` piped into the destination's bulk load
  (``bench/db_sync_baselines.py floor``; binary COPY into PostgreSQL, CSV into DuckDB).

Each load is measured from connecting to committing (interpreter start and imports excluded, for all
methods alike). Our syncs also report where their time went (read: source queries; copy: loading the
work table; delete; insert; fixed: the rest), timed around the engine's calls, each phase without
the phases nested in it. Ratio: ours / dlt, the worse of the two destinations. Goals (issue 9): ratio <= 0.25,
ours within 2x of the floor, <= 300 MB peak RSS, incremental re-sync <= 5% of a full sync.

Run: .venvs/af3/bin/python bench/db_sync.py [--rows 1000000]   (builds .venvs/bench if missing)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venvs" / "bench" / "bin" / "python"
AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
SERVER = "host=127.0.0.1 port=5432 user=postgres"
PHASES = ("read", "copy", "delete", "insert", "fixed")

OURS = r"""
import json, os, sys, time
from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase, MetadataSnapshot
from datacoves_airflow_provider.data_sync.destinations.base import SyncDestination
from datacoves_airflow_provider.data_sync.destinations.duckdb import DuckDBDestination
from datacoves_airflow_provider.data_sync.destinations.postgres import PostgresDestination
from datacoves_airflow_provider.data_sync.engine import DataSync
from datacoves_airflow_provider.data_sync.table_selection import TableSelection

source_url, dest, target = sys.argv[1:4]
# a worker has Airflow and the provider hooks imported already; the baselines' timings exclude imports too
import airflow.providers.postgres.hooks.postgres, duckdb, psycopg2, sqlalchemy  # noqa: E401, F401
from datacoves_airflow_provider.compat import BaseHook, conf  # noqa: F401
destination = PostgresDestination("bench") if dest == "postgres" else DuckDBDestination("bench", path=target)

# the breakdown: wall time spent in each phase, exclusive of the phases nested in it
phases = dict.fromkeys(("read", "copy", "delete", "insert"), 0.0)
stack = []

def timed(function, phase):
    def wrapper(*args, **kwargs):
        stack.append(0.0)
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            phases[phase] += elapsed - stack.pop()
            if stack:
                stack[-1] += elapsed
    return wrapper

class TimedSink:
    def __init__(self, sink):
        self.sink, self.write = sink, timed(sink.write, "copy")

def load_copy(original):
    def wrapper(self, schema, name, spec, columns, produce, binary=False):
        return original(self, schema, name, spec, columns, lambda sink: produce(TimedSink(sink)), binary)
    return timed(wrapper, "copy")

for owner, name, phase in [
    (MetadataSnapshot, "copy_out", "read"), (MetadataSnapshot, "iter_rows", "read"),
    (MetadataSnapshot, "count", "read"), (MetadataSnapshot, "changes", "read"),
    (SyncDestination, "load_rows", "copy"),
    (SyncDestination, "_delete_changed", "delete"), (SyncDestination, "delete_missing", "delete"),
    (SyncDestination, "count_unseen_keys", "delete"), (SyncDestination, "count_new_keys", "delete"),
    (SyncDestination, "merge", "insert"),
]:
    if hasattr(owner, name):
        setattr(owner, name, timed(getattr(owner, name), phase))
type(destination).load_copy = load_copy(type(destination).load_copy)
summary = DataSync(AirflowMetadataDatabase(source_url), destination, "airflow_bench",
                   TableSelection.from_arguments(["task_instance"], None)).run().as_dict()
table = summary["tables"][0]
phases["fixed"] = summary["seconds"] - sum(phases.values())
print(json.dumps({"method": "ours", "dest": dest, "rows": table["rows_total"], "copied": table["rows_copied"],
                  "mode": table["mode"], "seconds": summary["seconds"], "phases": phases}))
"""


@contextlib.contextmanager
def database(prefix: str) -> Iterator[str]:
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(f"{SERVER} dbname=postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    try:
        yield name
    finally:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def measured(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``command`` under /usr/bin/time; return its JSON line plus peak RSS (MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *command],
            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        peak_kb = int(rss.read().split()[-1])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rss_mb"] = peak_kb / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if not BENCH_PYTHON.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "bench"], check=True)

    import psycopg2

    sys.path.insert(0, str(ROOT / "tests"))  # the test harness: a test-only helper, not in the wheel
    from harness.metadata_seed import seed_metadata_rows

    with (
        database("bench_sync_src") as source,
        database("bench_sync_dst") as dest_db,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp) / "airflow_home"
        home.mkdir()
        source_url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{source}"
        migrate = subprocess.run(
            [str(AIRFLOW_BIN), "db", "migrate"],
            env={
                **os.environ,
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": source_url,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            },
            capture_output=True,
            text=True,
        )
        if migrate.returncode != 0:
            raise SystemExit(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")
        with contextlib.closing(psycopg2.connect(f"{SERVER} dbname={source}")) as conn:
            seed_metadata_rows(conn, args.rows)
            conn.autocommit = True
            conn.cursor().execute("VACUUM ANALYZE task_instance")
        source_dsn = f"postgresql://postgres@127.0.0.1:5432/{source}"
        dest_dsn = f"postgresql://postgres@127.0.0.1:5432/{dest_db}"
        ours_env = {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_CONN_BENCH": json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "127.0.0.1",
                    "port": 5432,
                    "login": "postgres",
                    "schema": dest_db,
                }
            ),
        }
        results: dict[tuple[str, str], dict] = {}
        for dest in ("postgres", "duckdb"):
            target = str(Path(tmp) / f"{dest}.duckdb")
            baseline_dest = ["--dest-dsn", dest_dsn] if dest == "postgres" else ["--dest-path", target]
            for method in ("dlt", "floor"):
                results[(method, dest)] = measured(
                    [
                        str(BENCH_PYTHON),
                        str(ROOT / "bench" / "db_sync_baselines.py"),
                        method,
                        "--source-dsn",
                        source_dsn,
                        "--table",
                        "task_instance",
                        "--dest",
                        dest,
                        *baseline_dest,
                        "--dest-schema",
                        f"bench_{method}",
                    ]
                )
            ours = [sys.executable, "-c", OURS, source_url, dest, str(Path(tmp) / f"ours_{dest}.duckdb")]
            results[("ours", dest)] = measured(ours, ours_env)
            with contextlib.closing(psycopg2.connect(f"{SERVER} dbname={source}")) as conn:
                cur = conn.cursor()
                cur.execute(
                    "UPDATE task_instance SET state = 'failed', try_number = try_number + 1, "
                    "updated_at = now() "
                    "WHERE ctid IN (SELECT ctid FROM task_instance TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
                    "LIMIT %s)",
                    (args.rows // 100,),
                )
                conn.commit()
            results[("ours incremental", dest)] = measured(ours, ours_env)

    print(f"\n{args.rows:,} task_instance rows, PostgreSQL -> destination, same machine, same run")
    print(f"{'method':<18}{'dest':<10}{'seconds':>9}{'rows/s':>12}{'peak RSS MB':>13}{'rows':>11}")
    for (method, dest), r in results.items():
        rows = r.get("copied", r["rows"])
        rate = rows / r["seconds"]
        print(f"{method:<18}{dest:<10}{r['seconds']:>9.2f}{rate:>12,.0f}{r['rss_mb']:>13.0f}{rows:>11,}")

    print(
        "\nwhere our syncs spend their time, seconds (read: source queries; copy: loading the work table; "
        "delete: deleting changed or deleted keys; insert: merging the changed rows; fixed: connecting, "
        "reflecting, state, DDL, commit)"
    )
    print(f"{'method':<18}{'dest':<10}" + "".join(f"{p:>9}" for p in (*PHASES, "total")))
    for (method, dest), r in results.items():
        if "phases" in r:
            cells = [r["phases"][p] for p in PHASES] + [r["seconds"]]
            print(f"{method:<18}{dest:<10}" + "".join(f"{c:>9.3f}" for c in cells))

    def ratio(method: str, baseline: str, dest: str) -> float:
        return float(results[(method, dest)]["seconds"] / results[(baseline, dest)]["seconds"])

    dests = ("postgres", "duckdb")
    ratios = {d: ratio("ours", "dlt", d) for d in dests}
    floors = {d: ratio("ours", "floor", d) for d in dests}
    incremental = {d: ratio("ours incremental", "ours", d) for d in dests}
    for dest in ("postgres", "duckdb"):
        print(
            f"{dest}: ours/dlt {ratios[dest]:.3f} (goal <= 0.25), ours/floor {floors[dest]:.2f} (goal <= 2), "
            f"incremental/full {incremental[dest]:.3f} (goal <= 0.05), ours peak RSS "
            f"{results[('ours', dest)]['rss_mb']:.0f} MB (goal <= 300)"
        )
        assert results[("ours", dest)]["rows"] == results[("dlt", dest)]["rows"] == args.rows
        assert results[("ours incremental", dest)]["mode"] == "incremental"
    print(f"BENCH db_sync ratio={max(ratios.values()):.3f} goal=0.25")


if __name__ == "__main__":
    main()
