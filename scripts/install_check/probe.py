"""Run by scripts/install_check.sh with the interpreter of a fresh install (not the repository's).

``probe.py imports``: import every module the wheel ships (datacoves_airflow_provider, and the
legacy ``operators`` / ``notifiers`` packages), then what each extra exists for (the hooks and
drivers our code imports inside functions), then check that Airflow's ProvidersManager lists the
provider and its task decorators through the entry point. ``probe.py verify HOME EVIDENCE``: the
DAG run of the install check succeeded (task state in the SQLite metadata database, and what the
task wrote). Any failure is a non-zero exit with the reason.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
import sys
import traceback
from importlib.metadata import metadata, version
from pathlib import Path

PACKAGES = ["datacoves_airflow_provider", "operators", "notifiers"]
#: what each extra of pyproject.toml is for: modules our code imports lazily when it is installed
#: (every extra but ``all``, which is all of them, must be here)
EXTRAS = {
    "slack": ["airflow.providers.slack.hooks.slack_webhook:SlackWebhookHook"],
    "aws": [
        "airflow.providers.amazon.aws.hooks.s3:S3Hook",
        "airflow.providers.amazon.aws.secrets.secrets_manager:SecretsManagerBackend",
        "botocore.exceptions:ClientError",
    ],
    # nothing of ours imports it: what the Datacoves docs' Airbyte examples use
    "airbyte": ["airflow.providers.airbyte.operators.airbyte:AirbyteTriggerSyncOperator"],
    "snowflake": [
        "airflow.providers.snowflake.hooks.snowflake:SnowflakeHook",
        "snowflake.connector",
    ],
    "redshift": [
        "airflow.providers.amazon.aws.hooks.redshift_sql:RedshiftSQLHook",
        "psycopg2",
        "psycopg2.extras:execute_values",
    ],
    "postgres": ["airflow.providers.postgres.hooks.postgres:PostgresHook", "psycopg2"],
    "duckdb": ["duckdb"],
}
DAG_ID = "datacoves_install_check"
TASK_ID = "in_the_copy"


def fail(message: str) -> None:
    print(f"INSTALL CHECK FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def import_everything() -> None:
    failures: list[str] = []
    count = 0
    declared = set(metadata("datacoves-airflow-provider").get_all("Provides-Extra") or []) - {"all"}
    if declared != set(EXTRAS):
        fail(f"the wheel's extras {sorted(declared)} are not the ones this probe checks {sorted(EXTRAS)}")
    for name in PACKAGES:
        package = importlib.import_module(name)
        names = [name] + [info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}.")]
        for module in names:
            try:
                importlib.import_module(module)
                count += 1
            except Exception:
                failures.append(f"import {module}:\n{traceback.format_exc()}")
    for extra, targets in EXTRAS.items():
        for target in targets:
            module, _, attr = target.partition(":")
            try:
                loaded = importlib.import_module(module)
                if attr:
                    getattr(loaded, attr)
            except Exception:
                failures.append(f"extra [{extra}]: import {target}:\n{traceback.format_exc()}")
    if failures:
        fail("\n".join(failures))
    if count < 40:
        fail(f"only {count} modules found in {PACKAGES}: is the wheel complete?")

    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    providers = manager.providers
    if "datacoves-airflow-provider" not in providers:
        fail(f"Airflow's ProvidersManager does not list datacoves-airflow-provider: {sorted(providers)}")
    decorators = set(manager.taskflow_decorators)
    wanted = {"datacoves_bash", "datacoves_dbt", "datacoves_airflow_db_sync"}
    if not wanted <= decorators:
        fail(f"task decorators missing from the provider registration: {sorted(wanted - decorators)}")
    from airflow.decorators import task

    task.datacoves_bash  # noqa: B018 - resolving it loads the decorator through the entry point
    print(
        f"imported {count} modules and every extra's hooks; provider "
        f"{providers['datacoves-airflow-provider'].version} registered with {sorted(wanted)}"
    )


def verify(home: Path, evidence: Path) -> None:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("select task_id, state from task_instance where dag_id = ?", (DAG_ID,)).fetchall()
    if dict(rows) != {TASK_ID: "success"}:
        fail(f"the DAG run's task states are {dict(rows)}, not {{{TASK_ID!r}: 'success'}}")
    text = evidence.read_text().strip() if evidence.exists() else "(no file)"
    if text != "install-check-marker ran in a copy":
        fail(f"the bash task did not write its evidence: {evidence}: {text}")
    print("the bash DAG ran in a copy of the repository")


def main() -> None:
    if sys.argv[1:2] == ["imports"]:
        import_everything()
    elif sys.argv[1:2] == ["verify"] and len(sys.argv) == 4:
        verify(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        fail(f"usage: probe.py imports | probe.py verify HOME EVIDENCE (got {sys.argv[1:]})")
    names = ("apache-airflow", "datacoves-airflow-provider")
    print("versions: " + ", ".join(f"{name} {version(name)}" for name in names))


if __name__ == "__main__":
    main()
