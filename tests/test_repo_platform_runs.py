"""Bash and dbt tasks on a Datacoves-like worker, run by the real ``airflow dags test``.

The layout is the platform's (PLATFORM.md §1 and §5): the repository is git-sync's read-only clone
in ``DATACOVES__REPO_PATH_RO`` (a link to its worktree, every file made unwritable),
``DATACOVES__REPO_PATH`` names a folder that does not exist, ``DATACOVES__DBT_HOME`` and
``DBT_PROFILES_DIR`` point into the clone and ``PYTHONPATH`` is the clone. Each task must run in its
own copy, see ``DATACOVES__REPO_PATH`` naming that copy, and leave the clone and the shared
read-write folder as they were.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from harness.airflow_env import DagRunResult, run_dag
from harness.dbt import dbt_env
from harness.evidence import read, staging_folder
from harness.platform_repo import PlatformRepo, build_platform_repo, release_platform_repo
from harness.repos import tree_fingerprint

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def platform_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformRepo]:
    platform = build_platform_repo(tmp_path_factory.mktemp("platform"))
    yield platform
    release_platform_repo(platform)


@pytest.fixture(scope="module")
def platform_run(
    airflow_home, platform_repo: PlatformRepo, dbt_venv, tmp_path_factory
) -> tuple[DagRunResult, Path, Path, dict[str, str]]:
    evidence = tmp_path_factory.mktemp("evidence")
    database = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
    before = tree_fingerprint(platform_repo.root)
    result = run_dag(
        airflow_home,
        DAGS,
        "repo_platform",
        EVIDENCE=str(evidence),
        DUCKDB_PATH=str(database),
        **platform_repo.env(),
        **dbt_env(dbt_venv),
    )
    assert result.states, f"the DAG did not run:\n{result.output[-5000:]}"
    return result, evidence, database, before


def test_states(platform_run):
    result, _, _, _ = platform_run
    assert result.states == {
        "in_copy": "success",
        "worker_untouched": "success",
        "explicit_env": "success",
        "dbt_build": "success",
    }, result.output[-5000:]


def test_repo_path_in_the_task_is_its_own_copy(platform_run, platform_repo: PlatformRepo):
    _, evidence, _, _ = platform_run
    copy = read(evidence, "repo_path")
    assert copy == read(evidence, "pwd")  # the command starts at the copy's root
    assert Path(copy).name == "repo" and staging_folder(copy).name.startswith("datacoves-stage")
    assert copy not in (str(platform_repo.clone), str(platform_repo.read_write))
    assert read(evidence, "written") == "written"  # writable, and written in the copy
    assert read(evidence, "repo_path_ro") == str(platform_repo.clone)
    assert not staging_folder(copy).exists(), "the copy was left behind"


def test_dbt_home_and_profiles_dir_point_into_the_copy(platform_run):
    _, evidence, _, _ = platform_run
    copy = read(evidence, "repo_path")
    assert read(evidence, "dbt_home") == f"{copy}/transform"
    assert read(evidence, "dbt_home_pwd") == f"{copy}/transform"
    assert read(evidence, "profiles_dir") == f"{copy}/automate/dbt"


def test_the_copy_is_imported_not_the_clone(platform_run, platform_repo: PlatformRepo):
    _, evidence, _, _ = platform_run
    copy = read(evidence, "repo_path")
    pythonpath = read(evidence, "pythonpath").split(os.pathsep)
    assert pythonpath[0] == copy
    clone_paths = (str(platform_repo.clone), os.path.realpath(platform_repo.clone))
    assert not [p for p in pythonpath if p.startswith(clone_paths)], pythonpath
    assert read(evidence, "import_path") == f"{copy}/orchestrate/platform_probe.py"


def test_worker_environment_is_unchanged(platform_run, platform_repo: PlatformRepo):
    _, evidence, _, _ = platform_run
    env = platform_repo.env()
    assert read(evidence, "worker_env").splitlines() == [
        env["DATACOVES__REPO_PATH"],
        env["DATACOVES__DBT_HOME"],
        env["DBT_PROFILES_DIR"],
        env["PYTHONPATH"],
    ]


def test_an_explicit_env_value_wins_and_env_still_replaces(platform_run):
    _, evidence, _, _ = platform_run
    assert read(evidence, "explicit_env") == "/explicitly/mine|<unset>|this"


def test_dbt_runs_in_the_copy_without_project_dir(platform_run):
    result, evidence, database, _ = platform_run
    copy = read(evidence, "dbt_repo_path")
    assert staging_folder(copy).name.startswith("datacoves-stage")
    assert read(evidence, "dbt_pwd") == f"{copy}/transform"
    assert read(evidence, "dbt_profiles_dir") == f"{copy}/automate/dbt"
    assert not staging_folder(copy).exists()
    with duckdb.connect(str(database), read_only=True) as db:
        tables = {row[0] for row in db.execute("select table_name from information_schema.tables").fetchall()}
    assert {"customer_orders", "stg_customers"} <= tables, result.output[-3000:]


def test_nothing_written_to_the_clone_or_the_shared_folder(platform_run, platform_repo: PlatformRepo):
    _, _, _, before = platform_run
    assert not os.path.lexists(platform_repo.read_write)
    assert tree_fingerprint(platform_repo.root) == before
