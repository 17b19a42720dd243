"""Benchmark: ``dbt parse`` of a 1,000-model project with partial_parse.msgpack from the store vs cold.

Inputs are built here: the DuckDB project generator of ``dbt_task_overhead.py`` at 1,000 models
(staging / intermediate / marts / reports with chains and fan-in of refs, 42 sources, schema.yml
files with about 1,800 data tests), plus what real projects carry: a macro package installed from
``packages.yml`` (a local package, ``packages/bench_utils`` in the repository; ``dbt deps`` runs
when the repository is built, so the checkout carries ``dbt_packages/`` as a deployment that runs
``dbt deps`` at build time does) whose macros the staging models call, and docs blocks
(``{% docs %}`` in .md files) that model descriptions use through ``doc()``. The reference dbt API
server (``datacoves_airflow_provider.testing.datacoves_api_server``) runs on 127.0.0.1 with its
files on disk, so the store's transfers go over real HTTP through its public v3 routes.

* ours: ``@task.datacoves_dbt(..., dbt_api_enabled=True)`` running ``dbt parse``: a fresh private
  copy of the repository, whose ``target/`` gets the static artifacts (``partial_parse.msgpack``
  ...) from the store before dbt runs. A publishing task (``upload_static_artifacts=True``) runs
  once, untimed, first: it parses cold and uploads them, as a deployment's first run does.
* baseline: the same task without the store (``dbt_api_enabled=False``): a cold, full parse.

Both are executed the way a worker does (templates rendered, ``execute(context)``), one untimed
warm-up of the baseline, then five alternating rounds; medians are compared. The time our
download adds is measured alone too: the store's download of the four static artifacts
(``artifact_store_from_config().download``), five times. dbt's log says when it re-parses fully
("Unable to do partial parsing because ..."); the count and reasons are printed.

Run: .venvs/af3/bin/python bench/partial_parse.py   (or .venvs/af2/bin/python)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbt_task_overhead as task_bench  # the shared project builder and task runner

GOAL = 0.5
ROUNDS = 5
MODELS = 1000
TOKEN = "bench-token-0123456789"
STATIC = ("graph_summary.json", "graph.gpickle", "partial_parse.msgpack", "semantic_manifest.json")


def add_package_and_docs(repo: Path) -> None:
    """A local macro package (packages.yml + dbt deps) used by the staging models, and docs blocks."""
    package = repo / "packages" / "bench_utils"
    task_bench._write(
        package / "dbt_project.yml",
        "name: bench_utils\nversion: '1.0'\nconfig-version: 2\nmacro-paths: ['macros']\n",
    )
    for k in range(12):
        task_bench._write(
            package / "macros" / f"utils_{k:02d}.sql",
            f"{{% macro safe_divide_{k}(a, b) %}}case when {{{{ b }}}} = 0 then null else "
            f"{{{{ a }}}} / {{{{ b }}}} end{{% endmacro %}}\n"
            f"{{% macro surrogate_key_{k}(cols) %}}md5({{{{ cols | join(\" || '-' || \") }}}})"
            "{% endmacro %}\n",
        )
    project = repo / "transform"
    task_bench._write(project / "packages.yml", "packages:\n  - local: ../packages/bench_utils\n")
    docs = ["{% docs primary_key %}The primary key: unique, never null.{% enddocs %}\n"]
    for folder in sorted({p.parent for p in (project / "models").rglob("*.sql")}):
        name = f"folder_{folder.parent.name}_{folder.name}"
        docs.append(
            f"{{% docs {name} %}}\nModels of `{folder.name}`; built daily.\n\n* owner: data team\n"
            "{% enddocs %}\n"
        )
        schema = folder / "schema.yml"
        text = schema.read_text()
        text = text.replace("description: Primary key", "description: \"{{ doc('primary_key') }}\"")
        text = re.sub(
            r"description: Bench model (\S+)",
            lambda m, name=name: f"description: \"{{{{ doc('{name}') }}}}: {m[1]}\"",
            text,
        )
        schema.write_text(text)
    task_bench._write(project / "models" / "docs.md", "\n".join(docs))
    for sql in (project / "models" / "staging").rglob("*.sql"):
        k = sum(map(ord, sql.stem)) % 12
        text = sql.read_text().replace(
            "    {{ audit_columns() }}\n",
            f"    {{{{ bench_utils.safe_divide_{k}('amount_cents', 100) }}}} as amount_ratio,\n"
            f"    {{{{ bench_utils.surrogate_key_{k}(['id', 'col_0']) }}}} as row_key,\n"
            "    {{ audit_columns() }}\n",
        )
        sql.write_text(text)


def git_commit(repo: Path, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)


def dbt_deps(project: Path, profiles: Path) -> None:
    env = {**os.environ, "DBT_PROFILES_DIR": str(profiles)}
    env["PATH"] = os.pathsep.join([str(task_bench.DBT_VENV / "bin"), env.get("PATH") or os.defpath])
    subprocess.run(["dbt", "deps"], cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    task_bench.remove_dbt_outputs(project)


def build_tasks() -> list[Any]:
    """``dbt parse`` tasks: publishing the static artifacts, with the store, and without it."""
    return task_bench.build_dbt_tasks(
        "bench_partial_parse",
        publish=("dbt parse", {"dbt_api_enabled": True, "upload_static_artifacts": True}),
        with_store=("dbt parse", {"dbt_api_enabled": True}),
        without_store=("dbt parse", {}),
    )


def time_download(tmp: Path) -> tuple[float, int]:
    """Median seconds of downloading the static artifacts alone (and their total bytes)."""
    from datacoves_airflow_provider.dbt.artifact_store import (
        SHARED_TAG,
        ArtifactKey,
        artifact_store_from_config,
    )

    store = artifact_store_from_config()
    times, size = [], 0
    for i in range(5):
        dest = tmp / f"download_{i}"
        start = time.perf_counter()
        found = [store.download(ArtifactKey(name, None, SHARED_TAG), dest / name) for name in STATIC]
        times.append(time.perf_counter() - start)
        assert found[STATIC.index("partial_parse.msgpack")], "partial_parse.msgpack is not in the store"
        size = sum(p.stat().st_size for p in dest.iterdir())
    return statistics.median(times), size


def main() -> None:
    if not (task_bench.DBT_VENV / "bin" / "dbt").exists():
        raise SystemExit(f"{task_bench.DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt")
    with tempfile.TemporaryDirectory(prefix="bench-partial-parse-") as tmp_name:
        tmp = Path(tmp_name)
        database = tmp / "warehouse.duckdb"
        repo = task_bench.build_dbt_repo(tmp / "repo", models=MODELS)
        add_package_and_docs(repo)
        git_commit(repo, "package and docs")
        schemas = "".join(p.read_text() for p in (repo / "transform" / "models").rglob("schema.yml"))
        tests = len(re.findall(r"^ +- (?:unique|not_null|relationships:)$", schemas, re.MULTILINE))
        dbt_deps(repo / "transform", task_bench.write_baseline_profile(tmp / "deps_profiles", database))
        server, task_log = task_bench.start_api_store_worker(tmp, repo, database, TOKEN)
        from airflow import __version__

        publish_op, ours_op, base_op = build_tasks()

        publish_elapsed, _ = task_bench.run_ours(publish_op, 0, task_log)  # cold parse; uploads
        task_bench.run_ours(base_op, 0, task_log)  # warm-up of the baseline
        warm_offset = task_log.stat().st_size
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        dbt_times: dict[str, list[float]] = {"ours": [], "baseline": []}
        full_parses: dict[str, int] = {"ours": 0, "baseline": 0}
        reasons: set[str] = set()
        for i in range(1, ROUNDS + 1):
            for kind in ("ours", "baseline") if i % 2 else ("baseline", "ours"):
                offset = task_log.stat().st_size
                elapsed, split = task_bench.run_ours(ours_op if kind == "ours" else base_op, i, task_log)
                times[kind].append(elapsed)
                dbt_times[kind].append(split["dbt"])
                with task_log.open("rb") as fh:
                    fh.seek(offset)
                    text = fh.read().decode("utf-8", "replace")
                found = re.findall(r"Unable to do partial parsing because ([^\"\n\\]*)", text)
                full_parses[kind] += bool(found)
                reasons.update(found)
        with task_log.open("rb") as fh:
            fh.seek(warm_offset)
            text = fh.read().decode("utf-8", "replace")
        assert "Downloaded partial_parse.msgpack" in text, "the static artifacts were never downloaded"
        download, size = time_download(tmp)
        leftovers = list((tmp / "stage").iterdir())
        assert not leftovers, f"staging folders left behind: {leftovers}"
        server.shutdown()

    ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
    dbt_ours, dbt_base = statistics.median(dbt_times["ours"]), statistics.median(dbt_times["baseline"])
    print(
        f"Airflow {__version__}: `dbt parse`, {MODELS} models, {tests} data tests, 42 sources, a local "
        "macro package and docs blocks, through @task.datacoves_dbt"
    )
    print(f"  publishing task (untimed; cold parse + upload): {publish_elapsed:.2f} s")
    print(f"  without the store (cold parse):         {[round(t, 2) for t in times['baseline']]} s")
    print(f"  with the store (partial_parse via HTTP): {[round(t, 2) for t in times['ours']]} s")
    print(
        f"  medians: cold {base:.2f} s (dbt {dbt_base:.2f} s), "
        f"with the store {ours:.2f} s (dbt {dbt_ours:.2f} s)"
    )
    print(f"  the download alone: {download:.3f} s for the 4 static artifacts ({size / 1e6:.1f} MB)")
    print(
        f'  full parses ("Unable to do partial parsing"): ours {full_parses["ours"]}/{ROUNDS}, '
        f"baseline {full_parses['baseline']}/{ROUNDS}; reasons: {sorted(reasons) or 'none'}"
    )
    print(f"BENCH partial_parse ratio={ours / base:.3f} goal={GOAL}")


if __name__ == "__main__":
    task_bench.run_main(main)
