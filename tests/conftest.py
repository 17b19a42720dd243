"""Shared fixtures: a real Airflow home per test worker, a sample repository, and a DAG runner.

Every DAG here runs through the real ``airflow dags test`` command of the Airflow line this
interpreter has installed, in a subprocess, against a migrated SQLite metadata database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")


def _platform_image_line() -> bool:
    """True on .venvs/af210, the Datacoves platform image's Airflow 2.10 (no import of Airflow here)."""
    from importlib.metadata import version

    return version("apache-airflow").startswith("2.10.")


# platform_image/ runs only on the platform image's line, and only it runs there (scripts/test.sh)
collect_ignore_glob = ["test_*.py"] if _platform_image_line() else ["platform_image/*"]


def airflow_major() -> int:
    from airflow import __version__

    return int(__version__.split(".")[0])


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Every file, folder and link below ``root`` with its content hash / target and mode."""
    result: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                result[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                result[rel] = f"dir:{oct(st.st_mode)}"
            else:
                result[rel] = f"file:{oct(st.st_mode)}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    return result


def git_commit_all(root: Path) -> None:
    """Make ``root`` a git repository on branch main with everything in one commit."""
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(["git", *args], cwd=root, env=git_env, check=True)


def build_sample_repo(root: Path) -> Path:
    """A small Datacoves-style repository with git history, a dbt project and helper modules."""
    files = {
        "orchestrate/__init__.py": "",
        "orchestrate/utils/__init__.py": "",
        "orchestrate/utils/helpers.py": "GREETING = 'hello from the repo copy'\n",
        "orchestrate/python_scripts/sample_script.py": (
            "import csv, io\n"
            "rows = [{'Name': 'Alice', 'Age': 25}, {'Name': 'Bob', 'Age': 30}]\n"
            "out = io.StringIO(); w = csv.DictWriter(out, ['Name', 'Age']); w.writeheader(); w.writerows(rows)\n"
            "print(out.getvalue())\n"
        ),
        "transform/dbt_project.yml": "name: sample\nversion: '1.0'\nprofile: default\n",
        "transform/models/example.sql": "select 1 as id\n",
        "README.md": "sample repo\n",
        ".gitignore": "transform/target/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git_commit_all(root)
    (root / "transform" / "target").mkdir()
    (root / "transform" / "target" / "manifest.json").write_text("{}")
    return root


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_repo(tmp_path_factory.mktemp("sample") / "repo")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow home of this interpreter's Airflow line (one per xdist worker)."""
    home = tmp_path_factory.mktemp("airflow_home")
    (home / "dags").mkdir()
    proc = subprocess.run(
        [AIRFLOW_BIN, "db", "migrate"], env=airflow_env(home), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{proc.stdout}\n{proc.stderr}"
    return home


def airflow_env(home: Path, dags_folder: Path | None = None, **extra: str) -> dict[str, str]:
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


@dataclass
class DagRunResult:
    returncode: int
    output: str
    states: dict[str, str]


def task_states(home: Path, dag_id: str) -> dict[str, str]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = "
            "(select run_id from dag_run where dag_id = ? order by id desc limit 1)",
            (dag_id, dag_id),
        ).fetchall()
    return {task_id: state for task_id, state in rows}


def run_dag(home: Path, dags_folder: Path, dag_id: str, *, timeout: int = 600, **env: str) -> DagRunResult:
    """Run ``dag_id`` from ``dags_folder`` with ``airflow dags test`` and read back task states."""
    proc = subprocess.run(
        [AIRFLOW_BIN, "dags", "test", dag_id, "2024-01-02"],
        env=airflow_env(home, dags_folder, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DagRunResult(proc.returncode, proc.stdout + proc.stderr, task_states(home, dag_id))


@pytest.fixture
def evidence(tmp_path: Path) -> Iterator[Path]:
    """A folder outside the repository where test tasks write what they saw."""
    path = tmp_path / "evidence"
    path.mkdir()
    yield path


DBT_VENV = ROOT / ".venvs" / "dbt"
DEMO_REPO = ROOT / "example_dags" / "demo_repo"


@pytest.fixture(scope="session")
def dbt_venv() -> Path:
    """The dbt virtualenv (dbt-core 1.11 and adapters), separate from Airflow's, as in production."""
    assert (DBT_VENV / "bin" / "dbt").exists(), (
        f"{DBT_VENV} is missing: build it with scripts/bootstrap.sh dbt (scripts/test.sh does)"
    )
    return DBT_VENV


def dbt_env(venv: Path) -> dict[str, str]:
    """Variables every dbt-running test sets: our default virtualenv is the dbt one, dbt stays offline."""
    return {
        "AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV": str(venv),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def copy_as_git_repo(source: Path, dest: Path) -> Path:
    """Copy ``source`` to ``dest`` and commit it, like a git-sync checkout."""
    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    )
    git_commit_all(dest)
    return dest


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git checkout of example_dags/demo_repo (dbt project in transform/, profiles in automate/dbt)."""
    return copy_as_git_repo(DEMO_REPO, tmp_path_factory.mktemp("demo") / "repo")


#: The repository's own dbt profile in the platform layout (env-var delivery mode, DuckDB).
PLATFORM_PROFILES = """\
default:
  target: prd
  outputs:
    prd:
      type: duckdb
      path: "{{ env_var('DUCKDB_PATH') }}"
      threads: 2
"""


@dataclass
class PlatformRepo:
    """A repository laid out as on a Datacoves worker (PLATFORM.md §1): git-sync's read-only clone
    (``<root>/repo``, a link to ``.worktrees/<hash>``, every file made unwritable) and a
    ``DATACOVES__REPO_PATH`` that does not exist."""

    root: Path
    clone: Path
    read_write: Path

    def env(self) -> dict[str, str]:
        """The repository variables the platform sets."""
        return {
            "DATACOVES__REPO_PATH_RO": str(self.clone),
            "DATACOVES__REPO_PATH": str(self.read_write),
            "DATACOVES__DBT_HOME": str(self.clone / "transform"),
            "DBT_PROFILES_DIR": str(self.clone / "automate" / "dbt"),
            "PYTHONPATH": str(self.clone),
        }


def build_platform_repo(base: Path, dag_files: Iterable[Path] = ()) -> PlatformRepo:
    """The demo repository as git-sync lays it out, read-only, with a DuckDB profile and an
    importable module (``orchestrate/platform_probe.py``); ``DATACOVES__REPO_PATH`` under ``base``
    does not exist. ``dag_files`` are copied into the clone's ``orchestrate/dags`` (the platform's
    DAGs folder lies in the clone). Give the result to :func:`release_platform_repo` when done."""
    root = base / "dags"
    worktree = root / ".worktrees" / "5f3c1a9e"
    shutil.copytree(
        DEMO_REPO, worktree, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    )
    (worktree / "automate" / "dbt" / "profiles.yml").write_text(PLATFORM_PROFILES)
    (worktree / "orchestrate" / "__init__.py").write_text("")
    (worktree / "orchestrate" / "platform_probe.py").write_text("WHERE = __file__\n")
    for dag_file in dag_files:
        (worktree / "orchestrate" / "dags").mkdir(exist_ok=True)
        shutil.copy(dag_file, worktree / "orchestrate" / "dags")
    git_commit_all(worktree)
    (root / "repo").symlink_to(".worktrees/5f3c1a9e")
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    return PlatformRepo(root=root, clone=root / "repo", read_write=base / "airflow_repo")


def release_platform_repo(platform: PlatformRepo) -> None:
    """Make the layout writable again, so the temporary folder can be removed."""
    subprocess.run(["chmod", "-R", "u+w", str(platform.root)], check=True)


PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards."""
    import uuid

    import psycopg2

    name = f"dbt_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'create database "{name}"')
        yield name
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
    finally:
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"process exited with {proc.returncode}:\n{log.read_text()[-3000:] if log else ''}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@dataclass
class ApiServer:
    """The reference dbt API server, running in its own process on 127.0.0.1."""

    url: str
    token: str
    data_dir: Path

    def requests(self) -> list[dict]:
        log = self.data_dir / "requests.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def env(self, **overrides: str) -> dict[str, str]:
        """The variables Datacoves sets on a worker when the dbt API is enabled."""
        return {
            "DATACOVES__API_ENDPOINT": self.url,
            "DATACOVES__API_TOKEN": self.token,
            "DATACOVES__ACCOUNT_ID": "acme",
            "DATACOVES__PROJECT_SLUG": "analytics",
            "DATACOVES__ENVIRONMENT_SLUG": "env123",
            **overrides,
        }


@contextlib.contextmanager
def running_datacoves_api_server(
    data_dir: Path, *extra_args: str, token: str = "test-token-1234567890"
) -> Iterator[ApiServer]:
    port = free_port()
    log = data_dir.parent / f"{data_dir.name}.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datacoves_airflow_provider.testing.datacoves_api_server",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--token",
                token,
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, 30, proc, log)
        yield ApiServer(f"http://127.0.0.1:{port}", token, data_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def dbt_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_datacoves_api_server(tmp_path_factory.mktemp("dbt_api") / "data") as server:
        yield server


#: Tokens of the reference server's platform routes, as the platform hands them to a worker.
DBT_API_TOKEN = "dbt-api-token-7f3a9c51e2"
MANIFEST_TOKEN = "manifest-token-4b8d2e6f90"


@dataclass
class PlatformApiServer(ApiServer):
    """The reference server with the platform's internal dbt API and manifest routes enabled."""

    dbt_api_token: str = DBT_API_TOKEN
    manifest_token: str = MANIFEST_TOKEN

    def platform_env(self, **overrides: str) -> dict[str, str]:
        """What a Datacoves worker has for the dbt API and manifest upload (PLATFORM.md §1, §3, §4),
        the token Variable included (as the platform delivers it: an environment variable)."""
        return {
            "DATACOVES__DBT_API_URL": self.url,
            "DATACOVES__PROJECT_SLUG": "analytics",
            "DATACOVES__ENVIRONMENT_SLUG": "env123",
            "DATACOVES__AIRFLOW_TYPE": "team_airflow",
            "AIRFLOW_VAR_DATACOVES-DBT-API-SECRET": self.dbt_api_token,
            "DATACOVES__UPLOAD_MANIFEST": "true",
            "DATACOVES__UPLOAD_MANIFEST_URL": f"{self.url}/api/internal/manifests",
            "DATACOVES__UPLOAD_MANIFEST_TOKEN": self.manifest_token,
            **overrides,
        }


@pytest.fixture(scope="module")
def platform_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformApiServer]:
    """The reference server with ``--dbt-api-token`` and ``--manifest-token``."""
    data = tmp_path_factory.mktemp("platform_api") / "data"
    with running_datacoves_api_server(
        data, "--dbt-api-token", DBT_API_TOKEN, "--manifest-token", MANIFEST_TOKEN
    ) as server:
        yield PlatformApiServer(server.url, server.token, server.data_dir)


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on 127.0.0.1 (from the tools venv): returns its endpoint URL."""
    moto = DBT_VENV / "bin" / "moto_server"
    assert moto.exists(), f"{moto} is missing: build the tools venv with scripts/bootstrap.sh dbt"
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, 60, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def aws_connection(endpoint: str) -> str:
    """An Airflow AWS connection (JSON) that talks to moto's server."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"region_name": "us-east-1", "endpoint_url": endpoint},
        }
    )


@dataclass
class Fakesnow:
    """fakesnow's server (Snowflake's HTTP protocol over an in-memory DuckDB) on 127.0.0.1."""

    port: int
    log: Path


@pytest.fixture(scope="module")
def fakesnow(dbt_venv, tmp_path_factory) -> Iterator[Fakesnow]:
    """fakesnow's server on a free port; its log shows each login's warehouse and role."""
    server = Fakesnow(free_port(), tmp_path_factory.mktemp("fakesnow") / "server.log")
    with server.log.open("w") as log:
        proc = subprocess.Popen(
            [str(dbt_venv / "bin" / "fakesnow"), "-s", "-p", str(server.port), "--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"fakesnow exited with code {proc.returncode}:\n{server.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"fakesnow did not listen on port {server.port} in 30 s:\n{server.log.read_text()}"
                    )
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: Modules that start whole deployments (minutes each): collected first, so that pytest-xdist hands
#: them out before the many short modules and no worker is left alone with one at the end.
LONG_MODULES = (
    "test_production.py",
    "test_secrets_leak_audit.py",
    "test_data_sync_runs.py",
    "test_celery_cluster.py",
    "test_production_faults.py",
    "test_notifiers.py",
    "test_dbt_retry_scheduler.py",
    "test_secrets_runs.py",
)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    rank = {name: i for i, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_MODULES)))
