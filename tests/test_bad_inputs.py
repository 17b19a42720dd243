"""The bad-input catalogue: one table of bad inputs across every public surface, each of which must
fail with a clear error that names the thing to fix, raised by this package (not a traceback from
deep inside a dependency).

Surfaces: decorator / operator / callback arguments (at DAG parse time), env values (read when a
task runs: ``execute`` is called in-process, as the task runner does), connection fields, table
names of the data sync, artifact names and dbt API replies (the reference Datacoves API server and a
recording HTTP server on 127.0.0.1), webhook replies, secrets API replies, and the DAG checker's
command-line flags and pytest settings (real subprocesses).

For an in-process row the innermost frame of the exception's traceback must be in a file under
``datacoves_airflow_provider/``; for a command row the exit status, the message and the absence of a
Python traceback are checked (and, for pytest collection errors, the file that raised). The count is
reported by ``test_catalogue_size`` as a warning, so it shows in pytest's warnings summary with
``-q`` and under xdist, and printed (``-s`` / ``-rA``).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.decorators import dag, task
from airflow.models.connection import Connection
from harness.api_server import ApiServer, running_datacoves_api_server
from harness.dag_toolkit import BIN, clean_env, run
from harness.data_sync import sync_over_user_table
from harness.network import free_port
from harness.paths import ROOT
from harness.repos import build_sample_repo
from harness.unruly_http_server import unruly_server
from harness.webhook_recorder import WebhookRecorder, webhook_recorder
from pendulum import datetime

from datacoves_airflow_provider.compat import AirflowException, AirflowNotFoundException, SecretsLookupRefused
from datacoves_airflow_provider.data_sync.destinations.base import DestinationError, UnmanagedTableError
from datacoves_airflow_provider.data_sync.table_selection import MissingTablesError, TableSelection
from datacoves_airflow_provider.dbt.api_client import DbtApiClient, DbtApiError
from datacoves_airflow_provider.dbt.artifact_store import (
    ArtifactKey,
    ArtifactStoreConfigError,
    LocalArtifactStore,
    artifact_store_from_config,
)
from datacoves_airflow_provider.dbt.platform_api import DbtPlatformApiClient, DbtPlatformApiSettings
from datacoves_airflow_provider.dbt.profiles import DbtProfileError, build_target
from datacoves_airflow_provider.dbt.retry import dbt_retry_command
from datacoves_airflow_provider.environment import InvalidSettingError, MissingEnvironmentError
from datacoves_airflow_provider.hooks.ms_teams_webhook import MSTeamsWebhookError, MSTeamsWebhookHook
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError, DatacovesApiSettings
from datacoves_airflow_provider.notifiers.integration import IntegrationNotifier
from datacoves_airflow_provider.notifiers.integration import inform_failure as integration_inform_failure
from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier
from datacoves_airflow_provider.notifiers.slack import SlackNotifier, SlackWebhookError
from datacoves_airflow_provider.operators.bash import DatacovesBashOperator
from datacoves_airflow_provider.operators.data_sync import (
    DatacovesDataSyncOperator,
    DatacovesDataSyncOperatorSnowflake,
    make_destination,
)
from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator
from datacoves_airflow_provider.secrets.api_client import DatacovesSecretsClient, DatacovesSecretsError
from datacoves_airflow_provider.secrets.datacoves import DatacovesSecretsBackend
from datacoves_airflow_provider.staging.repository import StagingError

PACKAGE = ROOT / "datacoves_airflow_provider"
SURFACES = ("decorator", "env", "connection", "table", "artifact", "webhook", "secrets", "cli")
#: Secrets the reference server holds for the secrets rows.
SECRETS = [
    {
        "slug": "datacoves-settings",
        "format": "yaml",
        "value": "a: 1",
        "project": "analytics",
        "environment": "env123",
    },
    # connection secrets Airflow cannot read (the values must never show in an error)
    {
        "slug": "datacoves-conn-text",
        "format": "key_value",
        "value": "hunter2-not-a-uri",
        "project": "analytics",
    },
    {"slug": "datacoves-conn-list", "format": "json", "value": ["db.internal", 5432], "project": "analytics"},
    {"slug": "datacoves-conn-null", "format": "json", "value": None, "project": "analytics"},
    {
        "slug": "datacoves-conn-fields",
        "format": "multiple_key_value",
        "value": {"user": "loader", "pass": "hunter2-secret"},
        "project": "analytics",
    },
    # the platform's route: a connection object with the extra under both of its names
    {
        "slug": "datacoves-conn-both",
        "format": "json",
        "value": {"conn_type": "http", "extra": {"k": "hunter2-a"}, "extra_dejson": {"k": "hunter2-b"}},
        "project": "analytics",
        "environment": "env123",
    },
]


#: Secret values the rows use: no message may show them.
SECRET_VALUES = ("hunter2", "wrong-token", "XYZ")


# --- the context a row runs in ----------------------------------------------------------------------


@dataclass
class Ctx:
    """What a row may use: the environment (restored after the row), a scratch folder, the sample
    repository, the reference Datacoves API server and the recording HTTP server."""

    monkeypatch: pytest.MonkeyPatch
    tmp: Path
    repo: Path
    api: ApiServer
    webhooks: WebhookRecorder

    def env(self, **variables: str) -> Ctx:
        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)
        return self

    def connection(self, conn_id: str, **fields: Any) -> str:
        """Define Airflow connection ``conn_id`` (an AIRFLOW_CONN_ variable, JSON) and return its id."""
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
        return conn_id

    def in_repo(self, **variables: str) -> Ctx:
        """The worker's variables with DATACOVES__REPO_PATH at the sample repository."""
        return self.env(DATACOVES__REPO_PATH=str(self.repo), **variables)

    def dbt_api(self, endpoint: str | None = None, **overrides: str) -> DbtApiClient:
        """A dbt API client for the reference server (or ``endpoint``), from the worker's variables."""
        env = self.api.env(**({"DATACOVES__API_ENDPOINT": endpoint} if endpoint else {}), **overrides)
        return DbtApiClient(DatacovesApiSettings.from_environment(env))

    def secrets(self, endpoint: str | None = None, token: str | None = None) -> DatacovesSecretsBackend:
        """The secrets backend on the reference server (or ``endpoint``)."""
        return DatacovesSecretsBackend(
            api_endpoint=endpoint or self.api.url,
            api_token=token or self.api.token,
            account="acme",
            project="analytics",
            environment="env123",
        )

    def source_file(self) -> Path:
        path = self.tmp / "run_results.json"
        path.write_text('{"results": []}')
        return path


@dataclass(frozen=True)
class Command:
    """A command row: ``datacoves-test-dags`` or the ready-made checks (``pytest --pyargs ...``)."""

    tool: str  # "datacoves-test-dags" or "dag_checks"
    args: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One bad input: the surface, a short id, what triggers it, the expected exception type (or exit
    status of a command) and a fragment of the message that names the thing to fix."""

    surface: str
    name: str
    trigger: Callable[[Ctx], object] | Command
    expect: type[BaseException] | int
    fragment: str

    @property
    def id(self) -> str:
        return f"{self.surface}-{self.name}"


# --- triggers ---------------------------------------------------------------------------------------


def parse_dag(decorator: str, op_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> object:
    """Parse a one-task DAG whose task is ``@task.<decorator>(**kwargs)``."""

    @dag(dag_id=f"bad_input_{decorator}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
    def bad_input():
        @getattr(task, decorator)(**kwargs)
        def t(expected_files: list | None = None) -> str:
            return "dbt build"

        t(**(op_kwargs or {}))

    return bad_input()


def run_bash(**kwargs: Any) -> object:
    """What the task runner does with a bash task: ``execute`` (here with an empty context)."""
    return DatacovesBashOperator(task_id="t", bash_command="echo hi", **kwargs).execute({})


def run_dbt(**kwargs: Any) -> object:
    return DatacovesDbtOperator(task_id="t", bash_command="dbt ls", **kwargs).execute({})


def staging_dir(ctx: Ctx, *, owner: int | None = None, mode: int = 0o700) -> Ctx:
    """Point ``[datacoves] staging_dir`` at a new folder with this owner and mode (and
    DATACOVES__REPO_PATH at the sample repository)."""
    folder = ctx.tmp / "staging_base"
    folder.mkdir()
    folder.chmod(mode)
    if owner is not None:
        os.chown(folder, owner, owner)
    return ctx.in_repo(AIRFLOW__DATACOVES__STAGING_DIR=str(folder))


def repo_with_link(ctx: Ctx, link: str, target: Path) -> Ctx:
    """DATACOVES__REPO_PATH at a new sample repository holding the link ``link`` -> ``target``."""
    repo = build_sample_repo(ctx.tmp / "linked_repo")
    (repo / link).symlink_to(target)
    return ctx.env(DATACOVES__REPO_PATH=str(repo))


def conn(conn_type: str, extra: dict[str, Any] | None = None, **fields: Any) -> Connection:
    return Connection(conn_id="warehouse", conn_type=conn_type, extra=json.dumps(extra or {}), **fields)


def open_destination(db_type: str, connection_id: str) -> None:
    with make_destination(db_type, connection_id, None).session():
        pass


def teams_send(ctx: Ctx, path: str, host: str | None = None, **extra: Any) -> int:
    """Post to a Teams webhook connection whose URL is the recorder's ``path`` (or ``host``)."""
    url = host or f"{ctx.webhooks.url}{path}"
    conn_id = ctx.connection("teams_alerts", conn_type="http", host=url, extra=extra)
    return MSTeamsWebhookHook(connection_id=conn_id, retries=0).send({"type": "message", "attachments": []})


def dag_success_context() -> dict[str, Any]:
    """What a DAG success callback gets in Airflow 3's DAG processor: the DAG, the run id, a reason."""

    @dag(dag_id="bad_input_notify", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
    def bad_input_notify():
        pass

    return {"dag": bad_input_notify(), "run_id": "manual__2024-01-02T00:00:00+00:00", "reason": "success"}


def teams_notify(ctx: Ctx, path: str) -> None:
    """``MSTeamsNotifier.notify`` (the callback with errors propagating) for a DAG success."""
    conn_id = ctx.connection("ms_teams", conn_type="http", host=f"{ctx.webhooks.url}{path}")
    MSTeamsNotifier(connection_id=conn_id, retries=0).notify(dag_success_context())


#: The misbehaving server of the bounded-call rows, started on first use (see unruly_url).
_UNRULY: list[Any] = []


def unruly_url(path: str) -> str:
    """A URL on the misbehaving server (tests/unruly_http_server.py): ``retry-after/99999``,
    ``trickle/0.5``, ``huge/300``, ``nested/100000``..., started once for the session."""
    if not _UNRULY:
        manager = unruly_server()
        _UNRULY.extend([manager, manager.__enter__()])
        atexit.register(manager.__exit__, None, None, None)  # while its thread still runs
    return f"{_UNRULY[1].url}/{path}"


def unruly_dbt_api(path: str, timeout: float = 2) -> DbtApiClient:
    """A dbt API client on the misbehaving server, with a small budget (timeout x 2 attempts)."""
    return DbtApiClient(DatacovesApiSettings(unruly_url(path), "tok", "a", "p", "e"), timeout=timeout, retries=1)


def teams_post(ctx: Ctx, path: str, timeout: float = 2, retries: int = 1) -> int:
    """Post to a Teams webhook on the misbehaving server (a retry allowed: Retry-After matters)."""
    conn_id = ctx.connection("teams_alerts", conn_type="http", host=unruly_url(path))
    hook = MSTeamsWebhookHook(connection_id=conn_id, timeout=timeout, retries=retries)
    return hook.send({"type": "message", "attachments": []})


def platform_secrets(
    ctx: Ctx, endpoint: str | None = None, token: str | None = None, **variables: str
) -> DatacovesSecretsBackend:
    """The secrets backend with no backend_kwargs on a platform worker: DATACOVES__SECRETS_API_ENDPOINT
    (default: the reference server's route for env123) and the token variable (default: the server's
    token), plus ``variables`` (``secondary=...`` sets AIRFLOW_VAR_DATACOVES-SECONDARY-SECRET)."""
    ctx.env(DATACOVES__SECRETS_API_ENDPOINT=endpoint or f"{ctx.api.url}/api/v1/secrets/env123")
    if token != "":
        ctx.env(**{"AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET": token or ctx.api.token})
    if "secondary" in variables:
        ctx.env(**{"AIRFLOW_VAR_DATACOVES-SECONDARY-SECRET": variables.pop("secondary")})
    ctx.env(**variables)
    return DatacovesSecretsBackend()


# --- the catalogue ----------------------------------------------------------------------------------

CATALOGUE: list[Row] = [
    # decorator, operator and callback arguments, checked when the DAG file is parsed
    Row("decorator", "bash-env-None", lambda c: parse_dag("datacoves_bash", env={"A": None}), ValueError, "env['A'] is None"),
    Row("decorator", "bash-staging-key", lambda c: parse_dag("datacoves_bash", staging={"copy_git": True}), ValueError, "staging has unknown keys ['copy_git']"),
    Row("decorator", "bash-share-outside", lambda c: parse_dag("datacoves_bash", staging={"share": ["../x"]}), ValueError, "StagingPolicy.share pattern '../x' must stay inside"),
    Row("decorator", "dbt-project_dir-absolute", lambda c: parse_dag("datacoves_dbt", project_dir="/abs/transform"), ValueError, "project_dir='/abs/transform' must be relative"),
    Row("decorator", "dbt-api-flag-text", lambda c: parse_dag("datacoves_dbt", dbt_api_enabled="yes"), TypeError, "dbt_api_enabled must be True or False"),
    Row("decorator", "dbt-store-not-enabled", lambda c: parse_dag("datacoves_dbt", upload_static_artifacts=True), ValueError, "add dbt_api_enabled=True"),
    Row("decorator", "dbt-upload-outside", lambda c: parse_dag("datacoves_dbt", dbt_api_enabled=True, upload_additional_files=["../secrets.json"]), ValueError, "upload_additional_files entry '../secrets.json' must stay inside"),
    Row("decorator", "dbt-expected_files", lambda c: parse_dag("datacoves_dbt", {"expected_files": ["run_results.json"]}), ValueError, "expected_files lists run_results.json, which this task never downloads"),
    Row("decorator", "dbt-threads-text", lambda c: parse_dag("datacoves_dbt", connection_id="main", overrides={"threads": "four"}), ValueError, "overrides['threads'] must be a positive whole number"),
    Row("decorator", "sync-db_type", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="bigquery", connection_id="main"), ValueError, "db_type='bigquery' is not supported"),
    Row("decorator", "sync-source-blank", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="duckdb", connection_id="duck", source_connection_id=" "), ValueError, "source_connection_id must name the connection to Airflow's database"),
    Row("decorator", "sync-lookback-text", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="snowflake", connection_id="main", incremental_lookback="10m"), ValueError, "incremental_lookback must be a non-negative timedelta"),
    Row("decorator", "teams-webhook_kind", lambda c: MSTeamsNotifier(webhook_kind="card"), ValueError, "webhook_kind must be 'workflows', 'connector' or None, not 'card'"),
    Row("decorator", "slack-event", lambda c: SlackNotifier(event="boom"), ValueError, "event must be one of success, failure, retry, sla_miss, not 'boom'"),
    Row("decorator", "retry-command-selects", lambda c: dbt_retry_command("dbt build -s tag:daily"), ValueError, "leave out the selection"),
    Row("decorator", "retry-command-quote", lambda c: dbt_retry_command('dbt build --vars "{days: 1}'), ValueError, "cannot be split into words like a shell does (No closing quotation); close the quote"),
    Row("decorator", "retry-state-empty", lambda c: dbt_retry_command("dbt build", state=""), ValueError, "state must name the folder holding the previous run_results.json (default 'logs'), got ''"),
    Row("decorator", "bash-skip-code-text", lambda c: parse_dag("datacoves_bash", skip_on_exit_code="99"), TypeError, "skip_on_exit_code must be an exit code or a list of exit codes (whole numbers, e.g. 99 or [99, 100]) or None, got '99'"),
    Row("decorator", "bash-output_encoding", lambda c: parse_dag("datacoves_bash", output_encoding="utf-9"), ValueError, "output_encoding='utf-9' is not a text encoding Python knows"),
    Row("decorator", "bash-append_env-text", lambda c: DatacovesBashOperator(task_id="t", bash_command="echo hi", append_env="yes"), TypeError, "append_env must be True or False, got 'yes'"),
    Row("decorator", "teams-timeout-text", lambda c: MSTeamsNotifier(timeout="fast"), ValueError, "timeout must be a number of seconds > 0 (e.g. timeout=30), got 'fast'"),
    Row("decorator", "slack-retries-negative", lambda c: SlackNotifier(retries=-1), ValueError, "retries must be a whole number >= 0 (e.g. retries=3), got -1"),
    Row("decorator", "teams-theme_color", lambda c: MSTeamsNotifier(theme_color="blurple"), ValueError, "theme_color='blurple' is not a colour: use an Adaptive Card colour name"),
    Row("decorator", "bash-env-nul-value", lambda c: parse_dag("datacoves_bash", env={"API_KEY": "hunter2\x00"}), ValueError, "Task 't': env['API_KEY'] contains a NUL byte (\\x00)"),
    Row("decorator", "bash-env-name-space", lambda c: parse_dag("datacoves_bash", env={"MY VAR": "1"}), ValueError, "env has an invalid variable name 'MY VAR': a name is a non-empty string without '='"),
    Row("decorator", "bash-env-name-nul", lambda c: DatacovesBashOperator(task_id="t", bash_command="echo", env={"A\x00B": "1"}), ValueError, "env has an invalid variable name 'A\\x00B'"),
    Row("decorator", "bash-cwd-nul", lambda c: parse_dag("datacoves_bash", cwd="transform\x00"), ValueError, "Task 't': cwd contains a NUL byte"),
    Row("decorator", "bash-command-nul", lambda c: DatacovesBashOperator(task_id="t", bash_command="echo hunter2\x00"), ValueError, "Task 't': bash_command contains a NUL byte"),
    Row("decorator", "bash-env-template-nul", lambda c: (op := DatacovesBashOperator(task_id="t", bash_command="echo", env={"API_KEY": "{{ value }}"}), op.render_template_fields({"value": "hunter2\x00"}), op.execute({})), ValueError, "Task 't': env['API_KEY'] contains a NUL byte"),
    Row("decorator", "dbt-env-nul-value", lambda c: parse_dag("datacoves_dbt", env={"DBT_PASSWORD": "hunter2\x00"}), ValueError, "Task 't': env['DBT_PASSWORD'] contains a NUL byte"),
    Row("decorator", "dbt-project_dir-nul", lambda c: DatacovesDbtOperator(task_id="t", bash_command="dbt ls", project_dir="transform\x00"), ValueError, "Task 't': project_dir contains a NUL byte"),
    Row("decorator", "bash-share-nul", lambda c: parse_dag("datacoves_bash", staging={"share": ["data/\0raw"]}), ValueError, "StagingPolicy.share pattern 'data/\\x00raw' contains a NUL character, which no file name can hold"),
    Row("decorator", "sync-replace_unmanaged-text", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="duckdb", connection_id="duck", replace_unmanaged_tables="yes"), TypeError, "replace_unmanaged_tables must be True or False, got str 'yes'"),
    Row("decorator", "dbt-overrides-secret-list", lambda c: parse_dag("datacoves_dbt", connection_id="main", overrides={"password": ["hunter2"]}), TypeError, "overrides['password'] must be a single value, got list (value not shown: a secret field)"),
    Row("decorator", "dbt-overrides-rendered-text", lambda c: DatacovesDbtOperator(task_id="t", bash_command="dbt ls", connection_id="main", overrides="{{ params.o }}").render_template_fields({"params": {"o": "password=hunter2"}}), AirflowException, "Task 't': overrides rendered to text (16 characters, not shown: it may hold a secret) that is neither a JSON object nor a Python dict"),
    Row("decorator", "integration-theme_color", lambda c: integration_inform_failure(theme_color="blurple"), ValueError, "theme_color='blurple' is not a colour: use an Adaptive Card colour name (good, attention, warning, accent, default, dark, light, emphasis)"),
    Row("decorator", "integration-webhook_kind", lambda c: IntegrationNotifier(webhook_kind="card"), ValueError, "webhook_kind must be 'workflows', 'connector' or None, not 'card'"),
    Row("decorator", "integration-slack-retries", lambda c: integration_inform_failure(retries=-1), ValueError, "retries must be a whole number >= 0 (e.g. retries=3), got -1"),
    # env values, read when the task runs
    Row("env", "REPO_PATH-unset", lambda c: run_bash(), MissingEnvironmentError, "DATACOVES__REPO_PATH is not set"),
    Row("env", "REPO_PATH-missing-folder", lambda c: (c.env(DATACOVES__REPO_PATH=str(c.tmp / "no_repo")), run_bash()), StagingError, "set DATACOVES__REPO_PATH to your repository checkout"),
    Row("env", "DBT_HOME-outside-repo", lambda c: (c.in_repo(DATACOVES__DBT_HOME="/opt/elsewhere/transform"), run_dbt()), AirflowException, "DATACOVES__DBT_HOME='/opt/elsewhere/transform' is outside the repository"),
    Row("env", "DBT_HOME-not-a-project", lambda c: (c.in_repo(DATACOVES__DBT_HOME="orchestrate"), run_dbt()), AirflowException, "DATACOVES__DBT_HOME='orchestrate' is not a dbt project"),
    Row("env", "PROFILE_PATH-no-profiles", lambda c: (c.in_repo(DATACOVES__AIRFLOW_DBT_PROFILE_PATH="orchestrate"), run_dbt(project_dir="transform")), AirflowException, "DATACOVES__AIRFLOW_DBT_PROFILE_PATH='orchestrate' has no profiles.yml"),
    Row("env", "artifact-store-scheme", lambda c: (c.in_repo(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="gs://bucket/dbt"), run_dbt(project_dir="transform", dbt_api_enabled=True)), AirflowException, "dbt_artifact_store='gs://bucket/dbt' is not a store this provider knows"),
    Row("env", "artifact-store-no-bucket", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="s3:///dbt"), artifact_store_from_config()), ArtifactStoreConfigError, "dbt_artifact_store='s3:///dbt' names no bucket"),
    Row("env", "artifact-store-api-no-token", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="api", DATACOVES__API_ENDPOINT=c.api.url), artifact_store_from_config()), ArtifactStoreConfigError, "set DATACOVES__API_TOKEN"),
    Row("env", "artifact-store-bucket-name", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="s3://my bucket/dbt"), artifact_store_from_config()), ArtifactStoreConfigError, "dbt_artifact_store='s3://my bucket/dbt': 'my bucket' is not an S3 bucket name"),
    Row("env", "artifact-store-conn-missing", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="s3://bucket/dbt", AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE_CONN_ID="no_such_aws"), artifact_store_from_config()), ArtifactStoreConfigError, "[datacoves] dbt_artifact_store_conn_id='no_such_aws' names no Airflow connection"),
    Row("env", "API_ENDPOINT-no-scheme", lambda c: c.dbt_api("api.datacoves.com"), DatacovesApiConfigError, "DATACOVES__API_ENDPOINT is 'api.datacoves.com', not a URL: set it to the API's http(s) URL with its scheme, e.g. https://api.datacoves.com"),
    Row("env", "ENVIRONMENT_SLUG-unset", lambda c: DatacovesDataSyncOperatorSnowflake().execute({}), MissingEnvironmentError, "DATACOVES__ENVIRONMENT_SLUG is missing"),
    Row("env", "service-connection-unset", lambda c: DatacovesDataSyncOperatorSnowflake(destination_schema="airflow_dev").execute({}), MissingEnvironmentError, "DATACOVES__AIRFLOW_DB_LOAD__ACCOUNT"),
    Row("env", "sql_alchemy_conn-empty", lambda c: (c.env(AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=""), DatacovesDataSyncOperator(task_id="t", db_type="duckdb", connection_id="duck", destination_schema="a").execute({})), ValueError, "set [database] sql_alchemy_conn"),
    Row("env", "artifact-store-file-host", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="file://nas/dbt"), artifact_store_from_config()), ArtifactStoreConfigError, "dbt_artifact_store='file://nas/dbt' names the host 'nas', but the folder store only reads this worker's disk (file://host/x is not the folder /x); use file:///absolute/folder"),
    Row("env", "artifact-store-file-relative", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="file:dbt_artifacts"), artifact_store_from_config()), ArtifactStoreConfigError, "dbt_artifact_store='file:dbt_artifacts' is a relative folder (it would depend on the worker's current folder); use file:///absolute/folder"),
    Row("env", "artifact-store-relative-folder", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="dbt_artifacts"), artifact_store_from_config()), ArtifactStoreConfigError, "dbt_artifact_store='dbt_artifacts' is not a store this provider knows: a folder must be an absolute path"),
    Row("env", "staging_dir-relative", lambda c: (c.in_repo(AIRFLOW__DATACOVES__STAGING_DIR="relative/stage"), run_bash()), StagingError, "[datacoves] staging_dir (AIRFLOW__DATACOVES__STAGING_DIR) is 'relative/stage', a relative path: set it to an absolute folder"),
    Row("env", "staging_dir-other-owner", lambda c: (staging_dir(c, owner=65534), run_bash()), StagingError, "or root, so that user could replace a task's private copy: [datacoves] staging_dir (AIRFLOW__DATACOVES__STAGING_DIR) must name a folder the worker's user owns"),
    Row("env", "staging_dir-world-writable", lambda c: (staging_dir(c, mode=0o777), run_bash()), StagingError, "is writable by other users without the sticky bit, so they could replace a task's private copy (chmod go-w or +t fixes that): [datacoves] staging_dir (AIRFLOW__DATACOVES__STAGING_DIR) must name"),
    Row("env", "default_virtualenv-relative", lambda c: (c.in_repo(AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV="venvs/main"), run_bash()), InvalidSettingError, "[datacoves] default_virtualenv (AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV) is 'venvs/main', a relative path: set it to the virtualenv's absolute path"),
    Row("env", "cwd-link-outside", lambda c: (repo_with_link(c, "scripts", c.tmp), run_bash(cwd="scripts")), AirflowException, "cwd='scripts' goes through the link 'scripts' -> '/"),
    Row("env", "project_dir-link-outside", lambda c: (repo_with_link(c, "shared", c.repo), run_dbt(project_dir="shared/transform")), AirflowException, "project_dir='shared/transform' goes through the link 'shared' -> '/"),
    Row("env", "REPO_PATH_RO-missing-folder", lambda c: (c.env(DATACOVES__REPO_PATH_RO=str(c.tmp / "no_clone"), DATACOVES__REPO_PATH=str(c.tmp / "airflow_repo")), run_bash()), StagingError, "does not exist: DATACOVES__REPO_PATH_RO must name the read-only git-sync clone of the repository"),
    Row("env", "REPO_PATH_RO-not-a-folder", lambda c: (c.env(DATACOVES__REPO_PATH_RO=str(c.repo / "README.md")), run_bash()), MissingEnvironmentError, "README.md' is not a folder: DATACOVES__REPO_PATH_RO must name the read-only git-sync clone"),
    Row("env", "DBT_HOME-outside-both-roots", lambda c: (c.env(DATACOVES__REPO_PATH_RO=str(c.repo), DATACOVES__REPO_PATH="/tmp/airflow_repo", DATACOVES__DBT_HOME="/opt/elsewhere/transform"), run_dbt()), AirflowException, "DATACOVES__DBT_HOME='/opt/elsewhere/transform' is outside the repository: it is in neither DATACOVES__REPO_PATH_RO="),
    # connection fields
    Row("connection", "dbt-type-mysql", lambda c: build_target(conn("mysql", host="db")), DbtProfileError, "has type 'mysql', which cannot be turned into a dbt profile"),
    Row("connection", "dbt-snowflake-account", lambda c: build_target(conn("snowflake", {"database": "D"}, login="u", password="pw-secret-1", schema="S")), DbtProfileError, "dbt needs 'account' for snowflake, and the connection has none: set its extra 'account'"),
    Row("connection", "dbt-snowflake-two-keys", lambda c: build_target(conn("snowflake", {"account": "a", "database": "D", "private_key_content": "key-content-1", "private_key_file": "/k.p8"}, login="u", schema="S")), DbtProfileError, "has both private_key_content and private_key_file"),
    Row("connection", "dbt-bigquery-keyfile", lambda c: build_target(conn("google_cloud_platform", {"keyfile_dict": "{not json", "dataset": "d"})), DbtProfileError, "extra keyfile_dict is not valid JSON"),
    Row("connection", "dbt-databricks-basic-auth", lambda c: build_target(conn("databricks", {"http_path": "/sql/1.0/x", "schema": "s"}, host="h", login="u", password="pw-secret-1")), DbtProfileError, "put the token in the Password field and leave Login empty"),
    Row("connection", "dbt-redshift-no-credentials", lambda c: build_target(conn("redshift", {"schema": "s"}, host="h", login="u", schema="db")), DbtProfileError, "no credentials for dbt: set a Password, or extra 'iam': true"),
    Row("connection", "dbt-connection-missing", lambda c: (c.in_repo(), run_dbt(project_dir="transform", connection_id="no_such_conn")), DbtProfileError, "Connection 'no_such_conn' does not exist"),
    Row("connection", "dbt-threads-text", lambda c: build_target(conn("postgres", {"threads": "many", "schema": "s"}, host="h", login="u", password="pw-secret-1", schema="db")), DbtProfileError, "Connection 'warehouse' (postgres): extra 'threads' must be a positive whole number of dbt threads, e.g. 4, got 'many'"),
    Row("connection", "teams-no-url", lambda c: MSTeamsWebhookHook(connection_id=c.connection("teams_alerts", conn_type="http", login="x")).resolve(), MSTeamsWebhookError, "connection 'teams_alerts' has no webhook URL"),
    Row("connection", "teams-host-not-url", lambda c: MSTeamsWebhookHook(connection_id=c.connection("teams_alerts", conn_type="http", host="teams webhook")).resolve(), MSTeamsWebhookError, "connection 'teams_alerts': the webhook URL it holds has no valid host name (host 'teams webhook')"),
    Row("connection", "teams-webhook_kind-extra", lambda c: teams_send(c, "/ok", webhook_kind="card"), MSTeamsWebhookError, "connection 'teams_alerts': unknown webhook_kind 'card'"),
    Row("connection", "teams-connection-missing", lambda c: MSTeamsWebhookHook(connection_id="ms teams").resolve(), AirflowNotFoundException, "no Airflow connection 'ms teams' or 'MS_TEAMS'"),
    Row("connection", "slack-connection-missing", lambda c: SlackNotifier(connection_id="slack_alerts").notify(dag_success_context()), AirflowNotFoundException, "no Airflow connection 'slack_alerts' or 'SLACK_ALERTS' holds the Slack webhook"),
    Row("connection", "slack-no-token", lambda c: SlackNotifier(connection_id=c.connection("slack_alerts", conn_type="slackwebhook", host="hooks.slack.com/services")).notify(dag_success_context()), SlackWebhookError, "connection 'slack_alerts' has no Slack webhook token: set its password"),
    Row("connection", "sync-postgres-database", lambda c: open_destination("postgres", c.connection("pg_dest", conn_type="postgres", host="127.0.0.1", port=5432, login="postgres", schema="no_such_database_bi")), DestinationError, "PostgreSQL destination of connection 'pg_dest'"),
    Row("connection", "sync-source-not-a-database", lambda c: DatacovesDataSyncOperator(task_id="t", db_type="duckdb", connection_id="duck", destination_schema="a", source_connection_id=c.connection("not_a_db", conn_type="http", host="x")).execute({}), ValueError, "the Airflow database it names must be a postgres, mysql or sqlite connection"),
    Row("connection", "sync-duckdb-no-file", lambda c: open_destination("duckdb", c.connection("duck_dest", conn_type="duckdb")), DestinationError, "Connection 'duck_dest' names no DuckDB file"),
    # table names of the data sync
    Row("table", "schema-qualified", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="snowflake", connection_id="main", tables=["public.dag"]), ValueError, "tables holds 'public.dag', which is not a valid table name"),
    Row("table", "injection", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="redshift", connection_id="main", additional_tables=['x"; drop table dag; --']), ValueError, "additional_tables holds 'x\"; drop table dag; --', which is not a valid table name"),
    Row("table", "a-string", lambda c: parse_dag("datacoves_airflow_db_sync", db_type="snowflake", connection_id="main", tables="dag_run"), TypeError, "tables must be a list of table names, e.g. tables=['dag_run']"),
    Row("table", "not-a-string", lambda c: DatacovesDataSyncOperatorSnowflake(additional_tables=[3]), TypeError, "additional_tables holds 3, which is not a table name"),
    Row("table", "too-long", lambda c: DatacovesDataSyncOperatorSnowflake(tables=["t" * 64]), ValueError, "at most 63 characters"),
    Row("table", "missing-table", lambda c: TableSelection.from_arguments(["dag", "dag_runs"], None).resolve({"dag", "dag_run", "task_instance"}), MissingTablesError, "do not exist in this Airflow's metadata database: dag_runs"),
    Row("table", "user-table-in-destination", lambda c: sync_over_user_table(c.tmp, c.connection, "job"), UnmanagedTableError, "Schema 'analytics' of the DuckDB destination (connection 'duck') already has table(s) 'job', which the data sync did not create (no row in _datacoves_sync_state), and it never replaces a table it did not create. Sync into a schema of its own (destination_schema=...), rename or drop those tables yourself, or pass replace_unmanaged_tables=True"),
    Row("table", "user-table-named-like-work-table", lambda c: sync_over_user_table(c.tmp, c.connection, "_dcsync_stage__dag_tag"), UnmanagedTableError, "Table '_dcsync_stage__dag_tag' in schema 'analytics' of the DuckDB destination (connection 'duck') has the name of one of the data sync's work tables, but the sync did not create it"),
    # artifact names, and the dbt API's replies
    Row("artifact", "absolute-name", lambda c: c.dbt_api().download("/etc/passwd", c.tmp / "x.json"), ValueError, "a dbt API file name must be a relative name, got '/etc/passwd'"),
    Row("artifact", "scope", lambda c: c.dbt_api().list_files(scope="account"), ValueError, "scope must be 'environment' or 'project', got 'account'"),
    Row("artifact", "name-climbs-out", lambda c: c.dbt_api().upload("../escape.json", c.source_file()), DbtApiError, "answered 400 Bad Request: {\"detail\": \"an upload needs a 'file' part and a relative 'filename' field"),
    Row("artifact", "reply-401", lambda c: c.dbt_api(DATACOVES__API_TOKEN="wrong-token").list_files(), DbtApiError, "answered 401 Unauthorized (DATACOVES__API_TOKEN was rejected)"),
    Row("artifact", "reply-404-promote", lambda c: c.dbt_api().promote("target/nope.json"), DbtApiError, "promote answered 404 Not Found: {\"detail\": \"no file 'target/nope.json'\"}"),
    Row("artifact", "reply-404-manifest", lambda c: c.dbt_api(DATACOVES__ENVIRONMENT_SLUG="empty_env").manifest(), DbtApiError, "manifest answered 404 Not Found: {\"detail\": \"no manifest uploaded\"}"),
    Row("artifact", "reply-403", lambda c: c.dbt_api(f"{c.webhooks.url}/status/403").list_files(), DbtApiError, "answered 403 Forbidden (the token may not access this account/project/environment)"),
    Row("artifact", "reply-500", lambda c: c.dbt_api(f"{c.webhooks.url}/status/500").file_info("run_results.json"), DbtApiError, "answered 500 Internal Server Error"),
    Row("artifact", "reply-not-json-info", lambda c: c.dbt_api(f"{c.webhooks.url}/status/200").file_info("run_results.json"), DbtApiError, "/files/run_results.json at http://127.0.0.1:"),
    Row("artifact", "reply-not-json-list", lambda c: c.dbt_api(f"{c.webhooks.url}/status/200").list_files(), DbtApiError, "/files at http://127.0.0.1:"),
    Row("artifact", "reply-not-json-upload", lambda c: c.dbt_api(f"{c.webhooks.url}/status/200").upload("run_results.json", c.source_file()), DbtApiError, "answered 200 OK with a reply that is not JSON"),
    Row("artifact", "key-climbs-out", lambda c: LocalArtifactStore(c.tmp / "store").upload(ArtifactKey("../../x.json", None, "latest"), c.source_file()), ValueError, "ArtifactKey name '../../x.json' must stay inside the store's folder"),
    Row("artifact", "key-empty", lambda c: ArtifactKey("", None, "latest"), ValueError, "ArtifactKey name must be a non-empty path relative to the dbt project"),
    Row("artifact", "reply-retry-after-too-long", lambda c: unruly_dbt_api("retry-after/99999").list_files(), DbtApiError, "asked to be retried later (Retry-After: 99999), beyond the"),
    Row("artifact", "reply-too-large", lambda c: unruly_dbt_api("huge/300").manifest(), DbtApiError, "answered with a reply larger than 200 MiB, the most this provider reads from it"),
    Row("artifact", "reply-trickles", lambda c: unruly_dbt_api("trickle/0.4", timeout=0.5).file_info("run_results.json"), DbtApiError, "did not answer within this call's 1 s budget"),
    Row("artifact", "reply-nested-json", lambda c: unruly_dbt_api("nested/100000").healthcheck(), DbtApiError, "answered a JSON document nested too deeply to read"),
    Row("artifact", "dbt-upload_manifest-text", lambda c: parse_dag("datacoves_dbt", upload_manifest="yes"), TypeError, "upload_manifest must be True or False, got 'yes'"),
    Row("artifact", "platform-url-not-a-url", lambda c: (c.env(DATACOVES__DBT_API_URL="dbt-api:80", DATACOVES__PROJECT_SLUG="analytics", DATACOVES__ENVIRONMENT_SLUG="env123", **{"AIRFLOW_VAR_DATACOVES-DBT-API-SECRET": "dbt-api-secret-1"}), artifact_store_from_config()), ArtifactStoreConfigError, "DATACOVES__DBT_API_URL is 'dbt-api:80', not a URL: set it to the API's http(s) URL with its scheme, e.g. https://dbt-api:80"),
    Row("artifact", "platform-token-variable-missing", lambda c: (c.env(DATACOVES__DBT_API_URL=c.api.url, DATACOVES__PROJECT_SLUG="analytics", DATACOVES__ENVIRONMENT_SLUG="env123"), artifact_store_from_config()), ArtifactStoreConfigError, "but the Airflow Variable 'datacoves-dbt-api-secret' does not exist: create it"),
    Row("artifact", "platform-setting-without-url", lambda c: (c.env(AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="platform"), artifact_store_from_config()), ArtifactStoreConfigError, "the dbt artifact store is 'platform', but the platform's dbt API is not configured on this worker: set DATACOVES__DBT_API_URL"),
    Row("artifact", "platform-reply-401", lambda c: DbtPlatformApiClient(DbtPlatformApiSettings(url=c.api.url, token="wrong-token", project="analytics", environment="env123"), retries=0).download(c.tmp / "x.json", tag="t"), DbtApiError, "answered 401 Unauthorized (the Airflow Variable 'datacoves-dbt-api-secret' was rejected)"),
    # webhook replies (MS Teams)
    Row("webhook", "teams-400", lambda c: teams_send(c, "/status/400/workflows/abc"), MSTeamsWebhookError, "(connection 'teams_alerts', workflows webhook) answered HTTP 400"),
    Row("webhook", "teams-500", lambda c: teams_send(c, "/status/500/workflows/abc"), MSTeamsWebhookError, "(connection 'teams_alerts', workflows webhook) answered HTTP 500"),
    Row("webhook", "teams-connector-410", lambda c: teams_send(c, "/status/410/webhookb2/abc", webhook_kind="connector"), MSTeamsWebhookError, "(connection 'teams_alerts', connector webhook) answered HTTP 410"),
    Row("webhook", "teams-unreachable", lambda c: teams_send(c, "", host=f"http://127.0.0.1:{free_port()}/hook"), MSTeamsWebhookError, "could not post to http://127.0.0.1/… (connection 'teams_alerts'): ConnectionError"),
    Row("webhook", "notifier-404", lambda c: teams_notify(c, "/status/404/workflows/abc"), MSTeamsWebhookError, "(connection 'ms_teams', workflows webhook) answered HTTP 404"),
    Row("webhook", "slack-400", lambda c: SlackNotifier(connection_id=c.connection("slack_alerts", conn_type="slackwebhook", password=f"{c.webhooks.url}/status/400/services/T0/B0/XYZ"), retries=0).notify(dag_success_context()), SlackWebhookError, "the Slack webhook (connection 'slack_alerts') answered HTTP 400: 'failing on purpose'"),
    Row("webhook", "teams-retry-after-too-long", lambda c: teams_post(c, "retry-after/99999/workflows/abc"), MSTeamsWebhookError, "asked to be retried later (Retry-After: 99999), beyond the"),
    Row("webhook", "teams-reply-too-large", lambda c: teams_post(c, "huge/100/workflows/abc"), MSTeamsWebhookError, "(connection 'teams_alerts') answered with a reply larger than 1 MiB"),
    Row("webhook", "teams-trickles", lambda c: teams_post(c, "trickle/0.4/workflows/abc", timeout=0.5), MSTeamsWebhookError, "did not answer within this call's 1 s budget"),
    Row("webhook", "slack-retry-after-too-long", lambda c: SlackNotifier(connection_id=c.connection("slack_alerts", conn_type="slackwebhook", password=unruly_url("retry-after/99999/services/T0/B0/XYZ")), retries=1).notify(dag_success_context()), SlackWebhookError, "the Slack webhook (connection 'slack_alerts') asked to be retried later (Retry-After: 99999)"),
    # secrets API replies, and the backend's kwargs
    Row("secrets", "reply-401", lambda c: c.secrets(token="wrong-token").get_variable("datacoves-settings"), SecretsLookupRefused, "answered 401 Unauthorized (DATACOVES__API_TOKEN was rejected)"),
    Row("secrets", "unknown-format", lambda c: c.secrets().get_variable("datacoves-settings"), SecretsLookupRefused, "secret 'datacoves-settings' has an unknown format 'yaml'"),
    Row("secrets", "reply-not-json", lambda c: c.secrets(f"{c.webhooks.url}/status/200").get_connection("datacoves-warehouse"), SecretsLookupRefused, "connection 'datacoves-warehouse' lives in the Datacoves secrets manager, which could not be read: Datacoves secrets API GET secrets/datacoves-warehouse answered something that is not a secret document"),
    Row("secrets", "reply-403", lambda c: c.secrets(f"{c.webhooks.url}/status/403").get_variable("datacoves-x"), SecretsLookupRefused, "answered 403 Forbidden (the token may not read it)"),
    Row("secrets", "reply-500", lambda c: c.secrets(f"{c.webhooks.url}/status/500").get_variable("datacoves-x"), SecretsLookupRefused, "secrets/datacoves-x answered 500 Internal Server Error"),
    Row("secrets", "not-configured", lambda c: DatacovesSecretsBackend(account="a", project="p", environment="e").get_variable("datacoves-x"), SecretsLookupRefused, "set DATACOVES__API_ENDPOINT, DATACOVES__API_TOKEN"),
    Row("secrets", "kwargs-aws-not-object", lambda c: DatacovesSecretsBackend(aws_secrets_manager="^aws_"), TypeError, "[secrets] backend_kwargs: aws_secrets_manager must be an object"),
    Row("secrets", "kwargs-bad-regex", lambda c: DatacovesSecretsBackend(aws_secrets_manager={"connections_lookup_pattern": "[x"}), ValueError, "aws_secrets_manager.connections_lookup_pattern='[x' is not a regex"),
    Row("secrets", "kwargs-ttl-text", lambda c: DatacovesSecretsBackend(cache_ttl_seconds="60"), ValueError, "[secrets] backend_kwargs: cache_ttl_seconds must be a number >= 0, got '60'"),
    Row("secrets", "kwargs-datacoves-text", lambda c: DatacovesSecretsBackend(datacoves="false"), TypeError, "[secrets] backend_kwargs: datacoves must be true or false (a JSON boolean, without quotes), got 'false'"),
    Row("secrets", "kwargs-endpoint-no-scheme", lambda c: c.secrets("api.datacoves.com").get_variable("datacoves-x"), SecretsLookupRefused, "the endpoint given to the Datacoves secrets manager is 'api.datacoves.com', not a URL"),
    Row("secrets", "connection-not-uri", lambda c: c.secrets().get_connection("datacoves-conn-text"), SecretsLookupRefused, "connection 'datacoves-conn-text' in the Datacoves secrets manager is neither a connection URI"),
    Row("secrets", "connection-list", lambda c: c.secrets().get_connection("datacoves-conn-list"), SecretsLookupRefused, "connection 'datacoves-conn-list' in the Datacoves secrets manager is a JSON list: store a connection URI"),
    Row("secrets", "connection-null", lambda c: c.secrets().get_connection("datacoves-conn-null"), SecretsLookupRefused, "connection 'datacoves-conn-null' in the Datacoves secrets manager has no value (null)"),
    Row("secrets", "connection-fields", lambda c: c.secrets().get_connection("datacoves-conn-fields"), SecretsLookupRefused, "in the Datacoves secrets manager has keys that are not connection fields (pass, user): store a connection URI"),
    Row("secrets", "reply-retry-after-too-long", lambda c: c.secrets(unruly_url("retry-after/99999")).get_variable("datacoves-x"), SecretsLookupRefused, "asked to be retried later (Retry-After: 99999), beyond the"),
    Row("secrets", "reply-too-large", lambda c: c.secrets(unruly_url("huge/100")).get_variable("datacoves-x"), SecretsLookupRefused, "answered with a reply larger than 10 MiB, the most this provider reads from it"),
    Row("secrets", "reply-trickles", lambda c: DatacovesSecretsClient(DatacovesApiSettings(unruly_url("trickle/0.4"), "tok", "a", "p", "e"), timeout=1, retries=0).get_secret("datacoves-x"), DatacovesSecretsError, "did not answer within this call's 1 s budget"),
    Row("secrets", "reply-nested-json", lambda c: c.secrets(unruly_url("nested/100000")).get_variable("datacoves-x"), SecretsLookupRefused, "answered a JSON document nested too deeply to read"),
    Row("secrets", "kwargs-endpoint-unreadable", lambda c: c.secrets("http://[::1").get_variable("datacoves-x"), SecretsLookupRefused, "the endpoint given to the Datacoves secrets manager is 'http://[::1', which cannot be read as a URL"),
    Row("secrets", "platform-endpoint-not-url", lambda c: platform_secrets(c, "api.example.com/api/v1/secrets/dev123").get_variable("datacoves-x"), SecretsLookupRefused, "DATACOVES__SECRETS_API_ENDPOINT is 'api.example.com/api/v1/secrets/dev123', not a URL"),
    Row("secrets", "platform-token-missing", lambda c: platform_secrets(c, token="").get_variable("datacoves-x"), SecretsLookupRefused, "the Airflow variable datacoves-primary-secret (its token) is not: set the environment variable AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET"),
    Row("secrets", "platform-reply-401", lambda c: platform_secrets(c, token="wrong-token").get_variable("datacoves-x"), SecretsLookupRefused, "answered 401 Unauthorized (the token in the Airflow variable datacoves-primary-secret was rejected)"),
    Row("secrets", "platform-reply-not-list", lambda c: platform_secrets(c, f"{c.api.url}/api/v3/healthcheck").get_variable("datacoves-x"), SecretsLookupRefused, "answered something that is not a list of secrets"),
    Row("secrets", "platform-reply-nested-json", lambda c: platform_secrets(c, unruly_url("nested/100000")).get_variable("datacoves-x"), SecretsLookupRefused, "answered a JSON document nested too deeply to read (more levels than Python's JSON parser takes): not a list of secrets"),
    Row("secrets", "platform-connection-extra-twice", lambda c: platform_secrets(c).get_connection("datacoves-conn-both"), SecretsLookupRefused, "has both extra and extra_dejson (the same field under two names): keep one"),
    Row("secrets", "secondary-not-json", lambda c: platform_secrets(c, secondary="{backend: XYZ}").get_variable("aws_x"), SecretsLookupRefused, "the Airflow variable datacoves-secondary-secret (the project's secondary secrets backend, asked first) is not valid JSON"),
    Row("secrets", "secondary-not-object", lambda c: platform_secrets(c, secondary='["XYZ"]').get_variable("aws_x"), SecretsLookupRefused, "datacoves-secondary-secret (the project's secondary secrets backend, asked first) is a JSON list, not an object"),
    Row("secrets", "secondary-no-backend", lambda c: platform_secrets(c, secondary='{"backend_config": {}}').get_variable("aws_x"), SecretsLookupRefused, "datacoves-secondary-secret (the project's secondary secrets backend, asked first) has no 'backend' naming a class"),
    Row("secrets", "secondary-class-missing", lambda c: platform_secrets(c, secondary='{"backend": "no_such_module.Backend"}').get_variable("datacoves-x"), SecretsLookupRefused, "names the backend 'no_such_module.Backend', which cannot be imported (ModuleNotFoundError)"),
    Row("secrets", "secondary-bad-kwargs", lambda c: platform_secrets(c, secondary='{"backend": "airflow.secrets.environment_variables.EnvironmentVariablesBackend", "backend_config": {"region": "XYZ"}}').get_variable("aws_x"), SecretsLookupRefused, "gives 'airflow.secrets.environment_variables.EnvironmentVariablesBackend' keyword arguments it does not take"),
    Row("secrets", "secondary-config-not-object", lambda c: platform_secrets(c, secondary='{"backend": "x.Y", "backend_config": "XYZ"}').get_variable("aws_x"), SecretsLookupRefused, "has a 'backend_config' that is not a JSON object of the class's keyword arguments"),
    # command-line flags of the DAG checker, and the ready-made checks' pytest settings
    Row("cli", "threshold-not-a-number", Command("datacoves-test-dags", ("--dag-loadtime-threshold", "abc")), 2, "argument --dag-loadtime-threshold: invalid float value: 'abc'"),
    Row("cli", "timeout-not-a-number", Command("datacoves-test-dags", ("--timeout", "soon")), 2, "argument --timeout: invalid float value: 'soon'"),
    Row("cli", "isolation-choice", Command("datacoves-test-dags", ("--isolation", "thread")), 2, "argument --isolation: invalid choice: 'thread'"),
    Row("cli", "flag-typo", Command("datacoves-test-dags", ("--check-variables",)), 2, "unrecognized arguments: --check-variables"),
    Row("cli", "dags-folder-missing", Command("datacoves-test-dags", ("--dags-folder", "no_such_dags")), 2, "no_such_dags does not exist"),
    Row("cli", "filename-folder", Command("datacoves-test-dags", ("--filename", "dags")), 2, "argument --filename: dags is a folder; give the report's file path"),
    Row("cli", "timeout-nan", Command("datacoves-test-dags", ("--timeout", "nan")), 2, "argument --timeout: must be a number of seconds > 0, not nan"),
    Row("cli", "timeout-negative", Command("datacoves-test-dags", ("--timeout", "-5")), 2, "argument --timeout: must be a number of seconds > 0, not -5.0"),
    Row("cli", "threshold-negative", Command("datacoves-test-dags", ("--dag-loadtime-threshold", "-1")), 2, "argument --dag-loadtime-threshold: must be a number of seconds >= 0, not -1.0"),
    Row("cli", "checks-min-retries", Command("dag_checks", ("-o", "datacoves_min_retries=abc")), 2, "datacoves_min_retries must be a whole number, not 'abc'"),
    Row("cli", "checks-skip-unknown", Command("dag_checks", ("-o", "datacoves_skip_checks=owners")), 2, "datacoves_skip_checks names unknown check(s) owners"),
    Row("cli", "checks-output-file-value", Command("dag_checks", ("--output-file",)), 4, "argument --output-file: expected one argument"),
    Row("cli", "checks-output-file-folder", Command("dag_checks", ("--output-file", "dags")), 4, "--output-file dags: is a folder; give the report's file path"),
]  # fmt: skip

#: Rows that passed in this process (test_catalogue_size reports them).
CHECKED: set[str] = set()


# --- checks -----------------------------------------------------------------------------------------


def raising_file(excinfo: pytest.ExceptionInfo[BaseException]) -> Path:
    """The file of the innermost frame of the exception's traceback: where it was raised."""
    tb = excinfo.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve()


def raised_by_our_code(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """Whether the exception was raised in a file under datacoves_airflow_provider/."""
    return raising_file(excinfo).is_relative_to(PACKAGE)


def pytest_error_origin(output: str, fragment: str) -> str | None:
    """For a pytest error report (``E   ...`` lines under ``path:line: in function`` frames), the file
    of the frame that raised the error holding ``fragment``; None when pytest printed no such error."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("E ") and fragment in line:
            for previous in reversed(lines[:index]):
                match = re.match(r"^(\S+\.py):\d+: in ", previous)
                if match:
                    return match[1]
            return "?"
    return None


def check_command(row: Row, ctx: Ctx) -> None:
    assert isinstance(row.trigger, Command) and isinstance(row.expect, int)
    folder = ctx.tmp / "checker"
    (folder / "dags").mkdir(parents=True)
    (folder / "home").mkdir()
    (folder / "pytest.ini").write_text("[pytest]\ndatacoves_dags_folder = dags\n")
    env = clean_env(
        AIRFLOW_HOME=str(folder / "home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(folder / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{folder / 'home' / 'airflow.db'}",
    )
    if row.trigger.tool == "datacoves-test-dags":
        command = [str(BIN / "datacoves-test-dags"), *row.trigger.args]
    else:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs"]
        command += ["datacoves_airflow_provider.testing.dag_checks", *row.trigger.args]
    result = run(command, folder, env, timeout=180)
    output = result.output
    assert result.returncode == row.expect, output[-3000:]
    assert row.fragment in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output, output[-3000:]
    origin = pytest_error_origin(output, row.fragment)
    if origin is None:  # a usage error (argparse's "error: ...", pytest's "ERROR: ..."), naming the flag
        assert any("error:" in line.lower() and row.fragment in line for line in output.splitlines()), output
    else:
        assert Path(origin).resolve().is_relative_to(PACKAGE), f"raised in {origin}:\n{output[-3000:]}"


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, WebhookRecorder]]:
    """The reference Datacoves API server (dbt files and secrets) and the recording HTTP server."""
    folder = tmp_path_factory.mktemp("bad_inputs_api")
    (folder / "secrets.json").write_text(json.dumps(SECRETS))
    with (
        running_datacoves_api_server(folder / "data", "--secrets-file", str(folder / "secrets.json")) as api,
        webhook_recorder() as recorder,
    ):
        yield api, recorder


@pytest.fixture(scope="module")
def metadata_db_left_as_found() -> Iterator[None]:
    """On Airflow 2.11 a connection that is not found is also looked up in this process's metadata
    database (by default ~/airflow/airflow.db), which creates that SQLite file, empty: remove it
    afterwards when it did not exist before."""
    from datacoves_airflow_provider.compat import conf

    url = conf.get("database", "sql_alchemy_conn", fallback="") or ""
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    existed = path is None or path.exists()
    yield
    if path is not None and not existed and path.exists() and path.stat().st_size == 0:
        path.unlink()


@pytest.fixture
def ctx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_repo: Path, servers, metadata_db_left_as_found
) -> Ctx:
    """A worker's environment without any Datacoves variable or setting; staging in tmp_path."""
    import os

    for name in list(os.environ):
        if name.startswith(("DATACOVES__", "AIRFLOW__DATACOVES__")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW__DATACOVES__STAGING_DIR", str(tmp_path / "staging"))
    monkeypatch.setenv("AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV", str(tmp_path / "no_virtualenv"))
    api, recorder = servers
    return Ctx(monkeypatch, tmp_path, sample_repo, api, recorder)


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", CATALOGUE, ids=[row.id for row in CATALOGUE])
def test_bad_input(row: Row, ctx: Ctx) -> None:
    if isinstance(row.trigger, Command):
        check_command(row, ctx)
    else:
        assert isinstance(row.expect, type)
        with pytest.raises(row.expect) as info:
            row.trigger(ctx)
        message = str(info.value)
        assert row.fragment in message, f"{type(info.value).__name__}: {message}"
        for secret in (ctx.api.token, *SECRET_VALUES):
            assert secret not in message, f"the message shows a secret value: {message}"
        assert raised_by_our_code(info), (
            f"{type(info.value).__name__} raised in {raising_file(info)}, not by our code: {message}"
        )
    CHECKED.add(row.id)


def test_catalogue_size() -> None:
    """At least 40 bad inputs, on every surface; the count is reported at the end of the run."""
    per_surface = Counter(row.surface for row in CATALOGUE)
    assert len({row.id for row in CATALOGUE}) == len(CATALOGUE), "row ids must be unique"
    assert len(CATALOGUE) >= 40
    assert set(per_surface) == set(SURFACES), per_surface
    assert min(per_surface.values()) >= 5, per_surface
    counts = ", ".join(f"{surface} {per_surface[surface]}" for surface in SURFACES)
    checked = len(CHECKED)
    summary = f"bad-input catalogue: {len(CATALOGUE)} inputs checked ({counts})"
    if checked != len(CATALOGUE):
        summary += f"; {checked} of them passed in this process"
    print(summary)
    warnings.warn(summary, UserWarning, stacklevel=1)
