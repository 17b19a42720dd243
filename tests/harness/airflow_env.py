"""An Airflow home of this interpreter's line: its environment, ``airflow db migrate``, and DAG runs
through the real ``airflow dags test`` command in a process of its own (:mod:`harness.airflow_cli`),
against a SQLite metadata database."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from harness.airflow_cli import run_airflow


def airflow_env(home: Path, dags_folder: Path | None = None, **extra: str) -> dict[str, str]:
    """This environment without Airflow or Datacoves settings, plus an Airflow home's settings.

    :param home: the Airflow home (SQLite database and logs inside).
    :param dags_folder: the DAGs folder (default ``<home>/dags``).
    :param extra: more variables; they win.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATACOVES__"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder or home / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="120",
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def migrate_airflow_home(home: Path) -> Path:
    """Make ``home`` a migrated Airflow home (``dags/`` folder, SQLite database) and return it.

    :param home: an empty folder.
    """
    (home / "dags").mkdir()
    proc = run_airflow(["db", "migrate"], env=airflow_env(home), timeout=300)
    assert proc.returncode == 0, f"airflow db migrate failed:\n{proc.stdout}\n{proc.stderr}"
    return home


@dataclass
class DagRunResult:
    returncode: int
    output: str
    states: dict[str, str]


def task_states(home: Path, dag_id: str) -> dict[str, str]:
    """Task id -> state of the latest run of ``dag_id`` in ``home``'s SQLite database."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = "
            "(select run_id from dag_run where dag_id = ? order by id desc limit 1)",
            (dag_id, dag_id),
        ).fetchall()
    return {task_id: state for task_id, state in rows}


def latest_run_id(home: Path, dag_id: str) -> str:
    """The run id of the latest run of ``dag_id`` in ``home``'s SQLite database."""
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
        ).fetchone()[0]


def run_dag(home: Path, dags_folder: Path, dag_id: str, *, timeout: int = 600, **env: str) -> DagRunResult:
    """Run ``dag_id`` from ``dags_folder`` with ``airflow dags test`` and read back task states.

    :param home: a migrated Airflow home (:func:`migrate_airflow_home`).
    :param dags_folder: the DAGs folder.
    :param dag_id: the DAG to run.
    :param timeout: seconds before the run is killed.
    :param env: more variables for the run.
    """
    proc = run_airflow(
        ["dags", "test", dag_id, "2024-01-02"], env=airflow_env(home, dags_folder, **env), timeout=timeout
    )
    return DagRunResult(proc.returncode, proc.stdout + proc.stderr, task_states(home, dag_id))
