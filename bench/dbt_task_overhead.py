"""Benchmark: ``dbt ls`` on a 500-model DuckDB project through @task.datacoves_dbt vs directly in a shell.

Builds a git repository (``git init`` + commit, as a git-sync checkout is) with a dbt project in
``transform/``: 500 models in staging / intermediate / marts / reports folders with chains and
fan-in of refs, 42 sources, two macros and schema.yml files with about 900 data tests, no packages
(so no ``dbt deps``). Both sides run the same dbt (``.venvs/dbt``) against the same DuckDB profile:

* ours: a DAG with one ``@task.datacoves_dbt(project_dir="transform", connection_id="bench")`` task
  is defined in this process and its operator is executed the way a worker does it (templates
  rendered, then ``execute(context)``) with a minimal task context, skipping only the scheduler /
  task-runner machinery, which is Airflow's fixed cost. Everything of ours runs for real: the
  repository is staged into a private copy, the default virtualenv
  (``[datacoves] default_virtualenv`` = .venvs/dbt) is activated, the profile is written from the
  connection ``AIRFLOW_CONN_BENCH`` (conn_type duckdb; resolved in-process by Airflow's
  environment-variables secrets backend on both lines), dbt's output streams into the task log (a
  file, as on a worker), and the copy is removed.
* baseline: ``bash -c 'dbt ls'`` with cwd = the project in the repository, ``.venvs/dbt/bin`` first
  on PATH, ``DBT_PROFILES_DIR`` = a folder outside the repository holding the same profile, output
  redirected to a log file.

Fairness: a git-sync checkout carries no ``target/`` and our copy leaves it out, so dbt parses the
project from scratch on every task run. The baseline is made equally cold: ``target/`` (with
``partial_parse.msgpack``) and ``logs/`` are removed before each baseline run. After one untimed
warm-up of each side, the two alternate over five rounds (ours first in odd rounds, second in even
ones, so a drift in machine load favours neither) and medians are compared. The time of our
task is split with the task log's own timestamps: before dbt starts (staging, profile, environment),
the dbt process, and after it ends (run-results check, removal of the copy).

Run: .venvs/af3/bin/python bench/dbt_task_overhead.py   (or .venvs/af2/bin/python for Airflow 2.11)
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

GOAL = 1.15
ROUNDS = 5
MODELS = 500
COMMAND = "dbt ls"
ROOT = Path(__file__).resolve().parent.parent
DBT_VENV = ROOT / ".venvs" / "dbt"
DOMAINS = ("customers", "orders", "payments", "inventory", "marketing", "finance")


# -- inputs ----------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _schema_yml(models: list[tuple[str, str | None]]) -> str:
    """A schema.yml for ``models`` ((name, parent it has a foreign key to)): tests on most of them."""
    lines = ["version: 2", "", "models:"]
    for i, (name, parent) in enumerate(models):
        lines += [f"  - name: {name}", f"    description: Bench model {name}", "    columns:"]
        lines += ["      - name: id", "        description: Primary key"]
        if i % 3 != 2:
            lines += ["        data_tests:", "          - unique", "          - not_null"]
        if parent and i % 4 == 0:
            lines += ["      - name: parent_id", "        data_tests:", "          - not_null"]
            lines += ["          - relationships:", "              arguments:"]
            lines += [f"                to: ref('{parent}')", "                field: id"]
    return "\n".join(lines) + "\n"


def build_dbt_repo(root: Path, *, models: int = MODELS, seed: int = 11) -> Path:
    """Create a git repository at ``root`` with a ``models``-model DuckDB dbt project in transform/.

    Layers: 24% staging (one source table each), 40% intermediate (1-3 refs to staging or earlier
    intermediate models: chains), 28% marts (2-5 refs to intermediate models: fan-in), the rest
    reports (3-8 refs to marts).
    """
    rng = random.Random(seed)
    project = root / "transform"
    _write(
        project / "dbt_project.yml",
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: default\n"
        "model-paths: ['models']\nmacro-paths: ['macros']\n"
        "models:\n  bench:\n    staging:\n      +materialized: view\n"
        "    intermediate:\n      +materialized: ephemeral\n    marts:\n      +materialized: table\n"
        "    reports:\n      +materialized: table\n",
    )
    _write(
        project / "macros" / "money.sql",
        "{% macro cents_to_dollars(column, scale=2) %}round({{ column }} / 100.0, {{ scale }})"
        "{% endmacro %}\n",
    )
    _write(
        project / "macros" / "audit.sql",
        "{% macro audit_columns() %}current_timestamp as loaded_at, '{{ invocation_id }}' as batch"
        "{% endmacro %}\n",
    )
    n_stg, n_int, n_mart = int(models * 0.24), int(models * 0.40), int(models * 0.28)
    n_rep = models - n_stg - n_int - n_mart
    tables = [f"raw_{d}_{k}" for d in DOMAINS for k in range(7)]
    _write(
        project / "models" / "staging" / "sources.yml",
        "version: 2\n\nsources:\n  - name: raw\n    schema: raw\n    tables:\n"
        + "".join(f"      - name: {t}\n" for t in tables),
    )
    layers: dict[str, list[str]] = {"stg": [], "int": [], "mart": [], "rep": []}
    folders: dict[Path, list[tuple[str, str | None]]] = {}

    def add(layer: str, folder: Path, name: str, sql: str, parent: str | None) -> None:
        _write(folder / f"{name}.sql", sql)
        layers[layer].append(name)
        folders.setdefault(folder, []).append((name, parent))

    for i in range(n_stg):
        domain = DOMAINS[i % len(DOMAINS)]
        name = f"stg_{domain}_{i:03d}"
        sql = (
            f"with source as (select * from {{{{ source('raw', '{tables[i % len(tables)]}') }}}})\n"
            "select\n    id,\n    id as parent_id,\n"
            + "".join(f"    col_{c} as {domain}_attr_{c},\n" for c in range(6))
            + "    {{ cents_to_dollars('amount_cents') }} as amount,\n    {{ audit_columns() }}\n"
            "from source\nwhere id is not null\n"
        )
        add("stg", project / "models" / "staging" / domain, name, sql, None)
    for i in range(n_int):
        domain = DOMAINS[i % len(DOMAINS)]
        name = f"int_{domain}_{i:03d}"
        pool = layers["stg"] + layers["int"][-40:]  # recent intermediates: chains of refs
        parents = rng.sample(pool, rng.randint(1, 3))
        add("int", project / "models" / "intermediate" / domain, name, _join_sql(parents), parents[0])
    for i in range(n_mart):
        domain = DOMAINS[i % len(DOMAINS)]
        name = f"fct_{domain}_{i:03d}" if i % 2 else f"dim_{domain}_{i:03d}"
        parents = rng.sample(layers["int"], rng.randint(2, 5))  # fan-in
        add("mart", project / "models" / "marts" / domain, name, _join_sql(parents), parents[0])
    for i in range(n_rep):
        parents = rng.sample(layers["mart"], rng.randint(3, 8))
        sql = "{{ config(tags=['reporting']) }}\n" + _join_sql(parents)
        add("rep", project / "models" / "reports", f"rpt_{i:03d}", sql, parents[0])
    for folder, entries in folders.items():
        _write(folder / "schema.yml", _schema_yml(entries))
    _write(root / ".gitignore", "transform/target/\ntransform/logs/\n")
    _write(root / "README.md", "dbt task overhead bench repository\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench project"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    return root


def _join_sql(parents: list[str]) -> str:
    first, rest = parents[0], parents[1:]
    sql = "select\n    p0.id,\n    p0.id as parent_id,\n    p0.amount"
    sql += "".join(f" + coalesce(p{k}.amount, 0)" for k in range(1, len(parents))) + " as amount\n"
    sql += f"from {{{{ ref('{first}') }}}} as p0\n"
    sql += "".join(
        f"left join {{{{ ref('{p}') }}}} as p{k} on p{k}.parent_id = p0.id\n" for k, p in enumerate(rest, 1)
    )
    return sql


def duckdb_target(database: Path) -> dict[str, Any]:
    """The target both sides use: what our operator builds from ``{"conn_type": "duckdb", "host": ...}``."""
    return {"type": "duckdb", "path": str(database), "threads": 4}


def write_baseline_profile(folder: Path, database: Path) -> Path:
    folder.mkdir(parents=True)
    profile = {"default": {"target": "default", "outputs": {"default": duckdb_target(database)}}}
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2) + "\n")
    return folder


def remove_dbt_outputs(project: Path) -> None:
    for name in ("target", "logs"):
        shutil.rmtree(project / name, ignore_errors=True)


# -- baseline --------------------------------------------------------------------------------------


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_baseline(project: Path, profiles: Path, log_path: Path) -> tuple[float, dict[str, float]]:
    """Seconds of ``bash -c 'dbt ls'`` in the project; also its CPU seconds and (untimed in the
    ratio) the seconds of removing the target/ and logs/ it wrote, as our task removes its copy."""
    remove_dbt_outputs(project)  # as cold as a fresh git-sync checkout: no partial_parse.msgpack
    env = {**os.environ, "DBT_PROFILES_DIR": str(profiles), "VIRTUAL_ENV": str(DBT_VENV)}
    env["PATH"] = os.pathsep.join([str(DBT_VENV / "bin"), env.get("PATH") or os.defpath])
    with log_path.open("ab") as log:
        start, cpu = time.perf_counter(), children_cpu()
        proc = subprocess.run(["bash", "-c", COMMAND], cwd=project, env=env, stdout=log, stderr=log)
        elapsed, cpu = time.perf_counter() - start, children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"baseline {COMMAND!r} failed with exit code {proc.returncode}; see {log_path}")
    start = time.perf_counter()
    remove_dbt_outputs(project)  # and the checkout is as git-sync left it for our next round
    return elapsed, {"cpu": cpu, "cleanup": time.perf_counter() - start}


# -- ours ------------------------------------------------------------------------------------------


def worker_environment(tmp: Path, repo: Path, database: Path, **extra: str) -> None:
    """Make this process a worker that runs ``@task.datacoves_dbt`` tasks in-process: Airflow home
    and staging folder under ``tmp`` (no airflow.cfg or DB of the user's is touched), the dbt venv,
    the DuckDB connection ``bench`` on ``database``, ``repo`` as the repository; ``extra`` adds
    variables (e.g. the artifact store's). Warnings are silenced, as ``python -W ignore`` would.

    :param tmp: the bench's scratch folder.
    :param repo: the repository the tasks stage.
    :param database: the DuckDB file.
    :param extra: more environment variables.
    """
    (tmp / "airflow_home").mkdir()
    (tmp / "stage").mkdir()
    os.environ.update(
        AIRFLOW_HOME=str(tmp / "airflow_home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV=str(DBT_VENV),
        AIRFLOW__DATACOVES__STAGING_DIR=str(tmp / "stage"),
        AIRFLOW_CONN_BENCH=json.dumps({"conn_type": "duckdb", "host": str(database)}),
        DATACOVES__REPO_PATH=str(repo),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        **extra,
    )
    sys.warnoptions.append("ignore")  # as `python -W ignore`: Airflow 2 re-enables its own otherwise
    warnings.simplefilter("ignore")


def api_store_environment(port: int, token: str) -> dict[str, str]:
    """The variables that make the reference dbt API server on ``port`` the artifact store.

    :param port: the server's port on 127.0.0.1.
    :param token: its token.
    """
    return {
        "AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE": "api",
        "DATACOVES__API_ENDPOINT": f"http://127.0.0.1:{port}",
        "DATACOVES__API_TOKEN": token,
        "DATACOVES__ACCOUNT_ID": "1",
        "DATACOVES__PROJECT_SLUG": "bench",
        "DATACOVES__ENVIRONMENT_SLUG": "bench",
    }


def start_api_store_worker(tmp: Path, repo: Path, database: Path, token: str) -> tuple[Any, Path]:
    """Make this process a worker (:func:`worker_environment`) whose artifact store is the reference
    dbt API server, started here on 127.0.0.1 with its files in ``tmp / "dbt_api"``; returns the server
    (to ``shutdown()`` at the end) and the task log (:func:`configure_task_log`, ``tmp / "task.log"``).

    :param tmp: the bench's scratch folder.
    :param repo: the repository the tasks stage.
    :param database: the DuckDB file.
    :param token: the server's token.
    """
    from datacoves_airflow_provider.testing.datacoves_api_server import DatacovesApiServer

    server = DatacovesApiServer(("127.0.0.1", 0), tmp / "dbt_api", token)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker_environment(tmp, repo, database, **api_store_environment(server.server_address[1], token))
    task_log = tmp / "task.log"
    task_log.touch()
    configure_task_log(task_log)
    return server, task_log


def configure_task_log(log_path: Path) -> None:
    """Send the task's log to ``log_path`` as a worker does (Airflow 3: JSON lines; 2.x: the
    ``airflow.task`` logger), with timestamps that :func:`phases` reads back."""
    from datacoves_airflow_provider.compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.log import configure_logging

        configure_logging(json_output=True, output=log_path.open("ab", buffering=0))
        return
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(created).6f %(message)s"))
    for name in ("airflow.task", "airflow.hooks", "datacoves_airflow_provider"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def read_task_log(log_path: Path, offset: int) -> list[tuple[float, str]]:
    """(timestamp, message) of each task-log line written after ``offset``."""
    events = []
    with log_path.open("rb") as fh:
        fh.seek(offset)
        for raw in fh:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("{"):
                record = json.loads(line)
                ts = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()
                events.append((ts, str(record.get("event", ""))))
            elif line[:1].isdigit():
                stamp, _, message = line.partition(" ")
                events.append((float(stamp), message))
    return events


def phases(events: list[tuple[float, str]], start: float, end: float) -> dict[str, float]:
    """Seconds before the dbt process (staging, profile, env), in it, and after it (clean-up)."""
    started = next(ts for ts, msg in events if "Running command" in msg)
    exited = next(ts for ts, msg in events if "Command exited with return code" in msg)
    staged = next((ts for ts, msg in events if msg.startswith("Staged ")), started)
    return {
        "staging": staged - start,
        "before_dbt": started - start,
        "dbt": exited - started,
        "after_dbt": end - exited,
    }


def build_dbt_tasks(dag_id: str, **tasks: tuple[str, dict[str, Any]]) -> list[Any]:
    """A DAG of ``@task.datacoves_dbt`` tasks on the connection ``bench``, defined as a DAG file would;
    returns their operators, in order.

    :param dag_id: the DAG's id.
    :param tasks: task id -> (the dbt command its function returns, further arguments of the decorator;
        ``project_dir`` is ``transform`` unless given there).
    """
    import pendulum

    try:
        from airflow.sdk import dag, task
    except ImportError:  # Airflow 2
        from airflow.decorators import dag, task

    def returning(command: str) -> Callable[[], str]:
        def dbt_command() -> str:
            return command

        return dbt_command

    @dag(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1))
    def bench_dag() -> None:
        for task_id, (command, arguments) in tasks.items():
            arguments = {"project_dir": "transform", **arguments}
            task.datacoves_dbt(task_id=task_id, connection_id="bench", **arguments)(returning(command))()

    dag_obj = bench_dag()
    return [dag_obj.get_task(task_id) for task_id in tasks]


def build_task(project_dir: str) -> Any:
    """A DAG with one @task.datacoves_dbt task, defined as a DAG file would; returns its operator."""
    return build_dbt_tasks("bench_dbt_task_overhead", dbt_ls=(COMMAND, {"project_dir": project_dir}))[0]


def minimal_context(op: Any, round_no: int) -> dict[str, Any]:
    """The context keys our operator and Airflow's helpers read (context_to_airflow_vars: task,
    task_instance, dag_run; determine_kwargs: the mapping itself; templates: the rest)."""
    import pendulum

    logical_date = pendulum.datetime(2024, 1, 2, tz="UTC")
    run_id = f"manual__bench_{round_no}"
    dag_run = SimpleNamespace(
        dag_id=op.dag_id, run_id=run_id, logical_date=logical_date, execution_date=logical_date
    )
    ti = SimpleNamespace(
        dag_id=op.dag_id,
        task_id=op.task_id,
        run_id=run_id,
        try_number=1,
        map_index=-1,
        logical_date=logical_date,
        execution_date=logical_date,
    )
    return {
        "dag": op.dag,
        "task": op,
        "ti": ti,
        "task_instance": ti,
        "dag_run": dag_run,
        "run_id": run_id,
        "logical_date": logical_date,
        "execution_date": logical_date,
        "ds": logical_date.to_date_string(),
        "ds_nodash": logical_date.format("YYYYMMDD"),
        "ts": logical_date.isoformat(),
        "params": {},
        "var": {},
        "conn": None,
        "macros": None,
        "inlets": [],
        "outlets": [],
    }


def execute_like_task_runner(op: Any, context: dict[str, Any]) -> Any:
    """Call ``op.execute`` as the task runner does, so Airflow 3's ExecutorSafeguard accepts it."""
    try:
        from airflow.sdk.bases.operator import ExecutorSafeguard
    except ImportError:  # Airflow 2: its safeguard lets decorated operators through
        return op.execute(context)
    ctx = contextvars.copy_context()  # as task_runner._run_execute_callable
    ctx.run(ExecutorSafeguard.tracker.set, op)
    return ctx.run(op.execute, context=context)


def run_ours(op: Any, round_no: int, log_path: Path) -> tuple[float, dict[str, float]]:
    context = minimal_context(op, round_no)
    offset = log_path.stat().st_size
    wall0, start, cpu, own_cpu = time.time(), time.perf_counter(), children_cpu(), time.process_time()
    op.render_template_fields(context)  # what the task runner does before execute
    execute_like_task_runner(op, context)
    elapsed = time.perf_counter() - start
    split = {"cpu": children_cpu() - cpu, "own_cpu": time.process_time() - own_cpu}
    for handler in logging.getLogger("airflow.task").handlers:
        handler.flush()
    return elapsed, {**split, **phases(read_task_log(log_path, offset), wall0, wall0 + elapsed)}


def count_listed(log_path: Path) -> int:
    """Lines of ``dbt ls`` output (one per node) in a task or shell log."""
    text = log_path.read_text(errors="replace")
    return len(re.findall(r'(?m)(?:^|"event":"|^[\d.]+ )(?:source:)?bench\.', text))


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    if not (DBT_VENV / "bin" / "dbt").exists():
        raise SystemExit(f"{DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt")
    with tempfile.TemporaryDirectory(prefix="bench-dbt-task-") as tmp_name:
        tmp = Path(tmp_name)
        repo = build_dbt_repo(tmp / "repo")
        project = repo / "transform"
        database = tmp / "warehouse.duckdb"
        profiles = write_baseline_profile(tmp / "baseline_profiles", database)
        worker_environment(tmp, repo, database)
        from airflow import __version__

        task_log, shell_log = tmp / "task.log", tmp / "shell.log"
        task_log.touch()
        configure_task_log(task_log)
        op = build_task("transform")

        _, first = run_ours(op, 0, task_log)  # warm-up: OS caches, imports, first connection lookup
        run_baseline(project, profiles, shell_log)
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        splits: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
        for i in range(1, ROUNDS + 1):
            # ours first in odd rounds, second in even ones: a drift in machine load favours neither
            for kind in ("ours", "baseline") if i % 2 else ("baseline", "ours"):
                if kind == "ours":
                    elapsed, split = run_ours(op, i, task_log)
                else:
                    elapsed, split = run_baseline(project, profiles, shell_log)
                times[kind].append(elapsed)
                splits[kind].append(split)
        listed = {name: count_listed(path) for name, path in (("ours", task_log), ("baseline", shell_log))}
        assert listed["ours"] == listed["baseline"], f"the two sides listed different nodes: {listed}"
        found = re.search(r"Found \d+ models[^\n]*", shell_log.read_text())
        leftovers = list((tmp / "stage").iterdir())
        assert not leftovers, f"staging folders left behind: {leftovers}"

    ours, base = statistics.median(times["ours"]), statistics.median(times["baseline"])
    med = {key: statistics.median(s[key] for s in splits["ours"]) for key in splits["ours"][0]}
    base_med = {key: statistics.median(s[key] for s in splits["baseline"]) for key in ("cpu", "cleanup")}
    print(
        f"Airflow {__version__}: `{COMMAND}` ({found.group(0) if found else '?'}; "
        f"{listed['ours'] // (ROUNDS + 1)} nodes listed), full parse on both sides "
        "(baseline's target/ removed before each run)"
    )
    print(f"@task.datacoves_dbt  {[round(t, 3) for t in times['ours']]} s")
    print(f"bash -c (shell)      {[round(t, 3) for t in times['baseline']]} s")
    print(
        f"ours, medians: staging {med['staging']:.3f}s ({med['staging'] / ours:.1%} of the task), "
        f"all before dbt {med['before_dbt']:.3f}s, dbt process {med['dbt']:.3f}s, after dbt "
        f"(removing the copy) {med['after_dbt']:.3f}s; untimed rm of the baseline's target/ and logs/ "
        f"{base_med['cleanup']:.3f}s"
    )
    print(
        f"CPU, medians: child processes (bash, dbt; ours also cp) ours {med['cpu']:.2f}s, baseline "
        f"{base_med['cpu']:.2f}s; our task's own in-process CPU {med['own_cpu']:.3f}s"
    )
    print(
        f"first task of this process (untimed warm-up; each real task is one): all before dbt "
        f"{first['before_dbt']:.3f}s, after dbt {first['after_dbt']:.3f}s"
    )
    outside = med["before_dbt"] + med["after_dbt"]
    print(f"our time outside the dbt process: {outside:.3f}s ({outside / base:.1%} of the baseline)")
    print(f"median: ours {ours:.3f}s, baseline {base:.3f}s, difference {ours - base:+.3f}s")
    print(f"BENCH dbt_task_overhead ratio={ours / base:.3f} goal={GOAL}")


def run_main(main: Callable[[], None]) -> None:
    """Run a bench's ``main``; whatever it raises is printed to the real stderr, then exit 1.

    :param main: the bench's entry point.
    """
    try:
        main()
    except BaseException:  # Airflow 3's task logging replaces sys.stderr: say what went wrong anyway
        import traceback

        traceback.print_exc(file=sys.__stderr__)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
