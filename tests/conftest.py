"""Fixtures (thin wrappers over :mod:`harness`) and the suite's pytest hooks.

Every DAG here runs through the real ``airflow dags test`` command of the Airflow line this
interpreter has installed, in a process of its own (forked from a warm server that has imported
Airflow: ``harness/airflow_cli.py``), against a migrated SQLite metadata database. The shared
helpers live in the package ``tests/harness`` (imported as ``harness``); nothing imports this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import durations, profile, slow_guard
from harness.airflow_env import migrate_airflow_home
from harness.api_server import (
    ApiServer,
    PlatformApiServer,
    running_datacoves_api_server,
    running_platform_api_server,
)
from harness.dbt import require_dbt_venv
from harness.paths import DEMO_REPO, platform_image_line
from harness.repos import build_sample_repo, copy_as_git_repo
from harness.secrets_stores import CountingProxy, counting_aws_secrets, running_secrets_api
from harness.warehouses import Fakesnow, new_pg_database, running_fakesnow, running_moto_server

# platform_image/ runs only on the platform image's line, and only it runs there (scripts/test.sh)
collect_ignore_glob = ["test_*.py"] if platform_image_line() else ["platform_image/*"]


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_repo(tmp_path_factory.mktemp("sample") / "repo")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow home of this interpreter's Airflow line (one per xdist worker)."""
    return migrate_airflow_home(tmp_path_factory.mktemp("airflow_home"))


@pytest.fixture
def evidence(tmp_path: Path) -> Iterator[Path]:
    """A folder outside the repository where test tasks write what they saw."""
    path = tmp_path / "evidence"
    path.mkdir()
    yield path


@pytest.fixture(scope="session")
def dbt_venv() -> Path:
    """The dbt virtualenv (dbt-core 1.11 and adapters), separate from Airflow's, as in production."""
    return require_dbt_venv()


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git checkout of example_dags/demo_repo (dbt project in transform/, profiles in automate/dbt)."""
    return copy_as_git_repo(DEMO_REPO, tmp_path_factory.mktemp("demo") / "repo")


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards."""
    with new_pg_database() as name:
        yield name


@pytest.fixture(scope="module")
def dbt_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_datacoves_api_server(tmp_path_factory.mktemp("dbt_api") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def platform_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformApiServer]:
    """The reference server with ``--dbt-api-token`` and ``--manifest-token``."""
    with running_platform_api_server(tmp_path_factory.mktemp("platform_api") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on 127.0.0.1 (from the tools venv): returns its endpoint URL."""
    with running_moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(scope="module")
def fakesnow(dbt_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fakesnow]:
    """fakesnow's server on a free port; its log shows each login's warehouse and role."""
    with running_fakesnow(dbt_venv, tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


@pytest.fixture(scope="module")
def aws(moto_server: str) -> Iterator[CountingProxy]:
    """The secrets backend tests' AWS secrets in moto's server, behind a proxy counting calls."""
    with counting_aws_secrets(moto_server) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def datacoves_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The reference server serving the secrets backend tests' Datacoves secrets."""
    with running_secrets_api(tmp_path_factory.mktemp("secrets_api")) as server:
        yield server


# -- hooks ------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        action="store_true",
        help="write each module's measured duration (setup + call + teardown of its tests) to "
        "tests/durations.json, which orders the suite (longest slow modules first)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist 3.8's --dist loadscope hands out modules with the most tests first (its
    # --loadscope-reorder default), which would undo harness.durations' order and leave the longest
    # modules (few tests, minutes each) for the end of the run
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    slow_guard.install()
    profile.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    slow = item.get_closest_marker("slow") is not None
    with slow_guard.running(item.nodeid, slow), profile.measuring(durations.module_key(item.path)):
        return (yield)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    unmarked = slow_guard.unmarked_airflow_tests(items)
    if unmarked:
        raise pytest.UsageError(
            "these tests start Airflow (fixture airflow_home) but are not marked slow: add "
            "@pytest.mark.slow (or the module's pytestmark):\n  " + "\n  ".join(unmarked)
        )
    durations.order_items(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    durations.recorder.add(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("record_durations") and not hasattr(session.config, "workerinput"):
        durations.recorder.write()
