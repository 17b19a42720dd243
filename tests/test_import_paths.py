"""Every import path the README, the docs and earlier releases name keeps working.

The package is laid out by feature (``dbt/``, ``data_sync/``, ``staging/``, ``http/``); the paths
users already import from re-export the same objects, so ``is`` holds between old and new.
"""

from __future__ import annotations

import importlib

import pytest

P = "datacoves_airflow_provider"

#: (documented module, name, the module that defines it)
DOCUMENTED = [
    (f"{P}.operators.bash", "DatacovesBashOperator", f"{P}.operators.bash"),
    (f"{P}.operators.dbt", "DatacovesDbtOperator", f"{P}.operators.dbt"),
    (f"{P}.operators.data_sync", "DatacovesDataSyncOperator", f"{P}.operators.data_sync"),
    (f"{P}.operators.repo_staging", "StagingPolicy", f"{P}.staging.repository"),
    (f"{P}.operators.dbt_profiles", "DbtProfileError", f"{P}.dbt.profiles"),
    (f"{P}.operators.dbt_retry", "dbt_retry_command", f"{P}.dbt.retry"),
    (f"{P}.hooks.dbt_api", "DbtApiClient", f"{P}.dbt.api_client"),
    (f"{P}.hooks.dbt_platform_api", "DbtPlatformApiClient", f"{P}.dbt.platform_api"),
    (f"{P}.notifiers", "inform_failure", f"{P}.notifiers.integration"),
    (f"{P}.notifiers", "inform_success", f"{P}.notifiers.integration"),
    (f"{P}.notifiers", "inform_retry", f"{P}.notifiers.integration"),
    (f"{P}.notifiers.ms_teams", "MSTeamsNotifier", f"{P}.notifiers.ms_teams"),
    (f"{P}.notifiers.slack", "SlackNotifier", f"{P}.notifiers.slack"),
    (f"{P}.secrets.datacoves", "DatacovesSecretsBackend", f"{P}.secrets.datacoves"),
    (f"{P}.environment", "repository_source", f"{P}.environment"),
    (f"{P}.testing.dag_loader", "load_dag_bag", f"{P}.testing.dag_loader"),
    (f"{P}.testing.dag_validators", "DagCheckError", f"{P}.testing.dag_validators"),
    ("operators.datacoves.bash", "DatacovesBashOperator", f"{P}.operators.bash"),
    ("operators.datacoves.dbt", "DatacovesDbtOperator", f"{P}.operators.dbt"),
    ("operators.datacoves.data_sync", "DatacovesDataSyncOperatorSnowflake", f"{P}.operators.data_sync"),
    ("operators.datacoves.data_sync", "DatacovesDataSyncOperatorRedshift", f"{P}.operators.data_sync"),
    ("notifiers.datacoves.ms_teams", "MSTeamsNotifier", f"{P}.notifiers.ms_teams"),
    ("notifiers.datacoves.slack", "SlackNotifier", f"{P}.notifiers.slack"),
]

#: modules named by the docs as modules (run with ``-m`` or ``--pyargs``, or imported whole)
DOCUMENTED_MODULES = [
    f"{P}.testing.datacoves_api_server",
    f"{P}.testing.dag_checks",
    f"{P}.testing.dag_parse_check",
    f"{P}.testing.custom_reporter",
    f"{P}.decorators.bash",
    f"{P}.decorators.dbt",
    f"{P}.decorators.data_sync",
]


@pytest.mark.parametrize(("module", "name", "home"), DOCUMENTED, ids=[f"{m}.{n}" for m, n, _ in DOCUMENTED])
def test_documented_import_path_gives_the_same_object(module: str, name: str, home: str) -> None:
    documented = getattr(importlib.import_module(module), name)
    defined = getattr(importlib.import_module(home), name)
    assert documented is defined


@pytest.mark.parametrize("module", DOCUMENTED_MODULES)
def test_documented_module_imports(module: str) -> None:
    importlib.import_module(module)
