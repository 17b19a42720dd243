"""Ready-made DAG checks, no code to write::

    pytest --pyargs datacoves_airflow_provider.testing.dag_checks --output-file report.md

Loads the DAGs folder once (``datacoves_dags_folder`` in pytest's ini file, else Airflow's
``[core] dags_folder``) and runs, per DAG file: ``imports`` (no import error),
``schedule_interval`` (not used: Airflow 3 removed it; a warning on 2.x) and ``parse_time_calls``
(no Variable / Connection / database / network call in the file's parse-time code); and per DAG:
``tags`` (at least one, all approved), ``catchup`` (False), ``task_types`` (allowed operator
classes only), ``retries`` (below ``datacoves_min_retries`` fails, below
``datacoves_recommended_retries`` warns), ``owner`` (set) and ``start_date`` (not computed from the
clock). Settings: :mod:`datacoves_airflow_provider.testing.dag_check_settings`. A check that is
not configured or is waived by ``datacoves_skip_checks`` is reported as skipped, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datacoves_airflow_provider.testing import dag_validators as validators
from datacoves_airflow_provider.testing.dag_check_settings import (
    DagCheckSettings,
    settings_from_pytest_config,
)
from datacoves_airflow_provider.testing.dag_loader import (
    dag_file_paths,
    display_path,
    load_dag_bag,
    resolve_dags_folder,
)


@dataclass(frozen=True)
class DagFile:
    """A file Airflow parses in the DAGs folder (``dag_file`` is relative to the folder)."""

    path: Path
    dag_file: str


@dataclass(frozen=True)
class LoadedDag:
    """A DAG from the DagBag, with its file relative to the DAGs folder."""

    dag: Any
    dag_file: str


@dataclass(frozen=True)
class _LoadedFolder:
    settings: DagCheckSettings
    import_errors: dict[str, str]
    files: list[DagFile]
    dags: list[LoadedDag]


_LOADED = pytest.StashKey[_LoadedFolder]()


def _loaded(config: pytest.Config) -> _LoadedFolder:
    """The DagBag, loaded once per session."""
    if _LOADED not in config.stash:
        settings = settings_from_pytest_config(config)
        folder = resolve_dags_folder(settings.dags_folder)
        bag = load_dag_bag(folder)
        files = [DagFile(path, display_path(path, folder)) for path in dag_file_paths(folder)]
        dags = sorted(
            (LoadedDag(dag, display_path(dag.fileloc, folder)) for dag in bag.dags.values()),
            key=lambda d: (d.dag_file, d.dag.dag_id),
        )
        config.stash[_LOADED] = _LoadedFolder(settings, dict(bag.import_errors), files, dags)
    return config.stash[_LOADED]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize per-file checks with the DAG files and per-DAG checks with the DAGs."""
    loaded = _loaded(metafunc.config)
    if "dag_file" in metafunc.fixturenames:
        metafunc.parametrize("dag_file", loaded.files, ids=[f.dag_file for f in loaded.files])
    if "loaded_dag" in metafunc.fixturenames:
        metafunc.parametrize(
            "loaded_dag", loaded.dags, ids=[f"{d.dag_file}:{d.dag.dag_id}" for d in loaded.dags]
        )


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> DagCheckSettings:
    """The checks' settings from pytest's ini file."""
    return _loaded(request.config).settings


def _skip_if_waived(settings: DagCheckSettings, check: str, dag_file: str) -> None:
    reason = settings.skip_reason(check, dag_file)
    if reason:
        pytest.skip(reason)


def test_imports(dag_file: DagFile, settings: DagCheckSettings, request: pytest.FixtureRequest) -> None:
    """The file imports without error."""
    _skip_if_waived(settings, "imports", dag_file.dag_file)
    validators.check_import_errors(_loaded(request.config).import_errors, dag_file.path)


def test_schedule_interval(dag_file: DagFile, settings: DagCheckSettings) -> None:
    """The file does not pass schedule_interval (removed in Airflow 3)."""
    _skip_if_waived(settings, "schedule_interval", dag_file.dag_file)
    validators.check_no_schedule_interval(dag_file.path)


def test_parse_time_calls(dag_file: DagFile, settings: DagCheckSettings) -> None:
    """The file's parse-time code makes no Variable, Connection, database or network call."""
    _skip_if_waived(settings, "parse_time_calls", dag_file.dag_file)
    validators.check_no_parse_time_calls(dag_file.path)


def test_tags(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """The DAG has tags, all from the approved set."""
    _skip_if_waived(settings, "tags", loaded_dag.dag_file)
    validators.check_tags(loaded_dag.dag, settings.approved_tags)


def test_catchup(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """The DAG sets catchup=False."""
    _skip_if_waived(settings, "catchup", loaded_dag.dag_file)
    validators.check_catchup_false(loaded_dag.dag)


def test_task_types(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """Every task's type is allowed."""
    _skip_if_waived(settings, "task_types", loaded_dag.dag_file)
    if not settings.allowed_task_types:
        pytest.skip("datacoves_allowed_task_types is not set")
    validators.check_task_types(loaded_dag.dag, settings.allowed_task_types)


def test_retries(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """Every task retries at least the minimum (and, without a warning, the recommended) times."""
    _skip_if_waived(settings, "retries", loaded_dag.dag_file)
    validators.check_retries(
        loaded_dag.dag, minimum=settings.min_retries, recommended=settings.recommended_retries
    )


def test_owner(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """Every task has an owner."""
    _skip_if_waived(settings, "owner", loaded_dag.dag_file)
    validators.check_owner(loaded_dag.dag)


def test_start_date(loaded_dag: LoadedDag, settings: DagCheckSettings) -> None:
    """The start date is fixed, not computed from the clock."""
    _skip_if_waived(settings, "start_date", loaded_dag.dag_file)
    validators.check_start_date_not_dynamic(loaded_dag.dag)
