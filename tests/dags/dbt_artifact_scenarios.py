"""dbt artifact store and retry scenarios on the demo repo's `billing` project (tests only).

Payments land as $BILLING_LANDING_DIR/payments.csv. Retry scenarios flip the landing file in
``on_retry_callback``, between the first try and the retry; the test reads the store afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.dbt.retry import dbt_retry_command

START = datetime(2024, 1, 1)
EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
GOOD_PAYMENTS = "id,customer_id,amount\n1,1,10\n2,1,15\n3,2,20\n"


def land_good_payments(context) -> None:
    (Path(os.environ["BILLING_LANDING_DIR"]) / "payments.csv").write_text(GOOD_PAYMENTS)


RETRY = {"retries": 1, "retry_delay": 0, "on_retry_callback": land_good_payments}
ARTIFACTS = {"connection_id": "main", "project_dir": "billing", "dbt_api_enabled": True}


@dag(schedule=None, start_date=START, catchup=False, tags=["test"])
def artifacts_retry_models():
    @task.datacoves_dbt(**ARTIFACTS, download_run_results=True, **RETRY)
    def dbt_build(expected_files: list = []):  # noqa: B006 (the docs' signature)
        if expected_files:
            return "dbt build -s result:error+ --state logs"
        return "dbt build"

    dbt_build(expected_files=["run_results.json"])


@dag(schedule=None, start_date=START, catchup=False, tags=["test"])
def artifacts_retry_tests():
    @task.datacoves_dbt(**ARTIFACTS, download_run_results=True, **RETRY)
    def dbt_build(expected_files: list | None = None):
        return dbt_retry_command("dbt build") if expected_files else "dbt build"

    dbt_build(expected_files=["run_results.json"])


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args={"retries": 0})
def artifacts_uploads():
    @task.datacoves_dbt(
        **ARTIFACTS,
        upload_static_artifacts=True,
        upload_additional_files=["target/manifest.json"],
        upload_tag="nightly-{{ ds }}",
    )
    def dbt_build():
        return "dbt build"  # fails: nothing has landed

    @task.datacoves_dbt(
        **ARTIFACTS,
        download_additional_files=["target/manifest.json"],
        trigger_rule="all_done",
    )
    def dbt_ls():
        # the static artifacts arrive in target/; the additional file belongs to this task instance
        return "ls target && test ! -e target/manifest.json && dbt ls -s customers"

    dbt_build() >> dbt_ls()


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args={"retries": 0})
def artifacts_store_down():
    options = {**ARTIFACTS, "download_static_artifacts": False, "download_run_results": True}

    @task.datacoves_dbt(**options)
    def dbt_succeeds():
        return "dbt build -s customers"

    @task.datacoves_dbt(**options)
    def dbt_fails():
        return "dbt build -s payments"

    dbt_succeeds()
    dbt_fails()


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args={"retries": 0})
def artifacts_misconfigured():
    @task.datacoves_dbt(**ARTIFACTS)
    def dbt_build():
        return 'touch "$BILLING_LANDING_DIR/ran" && dbt build -s customers'

    dbt_build()


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args={"retries": 0})
def artifacts_partial_parse():
    """`write` uploads partial_parse.msgpack (target `default`); `other_target` downloads it and
    runs under another target (dbt parses everything again: the task says why), `same_target`
    under the same one (dbt parses partially: nothing extra is said)."""

    @task.datacoves_dbt(**ARTIFACTS, upload_static_artifacts=True)
    def write():
        return "dbt build -s customers"

    @task.datacoves_dbt(**ARTIFACTS, target="other")
    def other_target():
        return "dbt build -s customers"

    @task.datacoves_dbt(**ARTIFACTS)
    def same_target():
        return "dbt build -s customers"

    @task
    def keep_summaries(other: dict, same: dict) -> None:
        Path(EVIDENCE, "summaries.json").write_text(json.dumps({"other": other, "same": same}))

    written = write()
    other, same = other_target(), same_target()
    written >> [other, same]
    keep_summaries(other, same)


@dag(schedule=None, start_date=START, catchup=False, tags=["test"])
def artifacts_platform_two_tasks():
    """Two dbt tasks of one run on the platform's internal routes: `customers` succeeds at once;
    `dbt_build` fails on `payments`, and its retry reruns only what failed. Each keeps its own
    run_results.json (the platform's own provider tagged both `<run id>-run_results`)."""

    @task.datacoves_dbt(**ARTIFACTS, upload_static_artifacts=True, retries=0)
    def customers():
        return "dbt build -s customers"

    @task.datacoves_dbt(**ARTIFACTS, download_run_results=True, **RETRY)
    def dbt_build(expected_files: list = []):  # noqa: B006 (the docs' signature)
        if expected_files:
            return "dbt build -s result:error+ --state logs"
        return "dbt build"

    customers() >> dbt_build(expected_files=["run_results.json"])


@dag(schedule=None, start_date=START, catchup=False, tags=["test"], default_args={"retries": 0})
def artifacts_manifest_upload():
    """Manifest uploads without the artifact store: `parse` writes one, `no_upload` opts out,
    `fails` writes one and then fails."""

    @task.datacoves_dbt(connection_id="main", project_dir="billing")
    def parse():
        return "dbt parse"

    @task.datacoves_dbt(connection_id="main", project_dir="billing", upload_manifest=False)
    def no_upload():
        return "dbt parse"

    @task.datacoves_dbt(connection_id="main", project_dir="billing")
    def fails():
        return "dbt parse && exit 3"

    parse() >> no_upload() >> fails()


artifacts_retry_models()
artifacts_retry_tests()
artifacts_uploads()
artifacts_store_down()
artifacts_misconfigured()
artifacts_partial_parse()
artifacts_platform_two_tasks()
artifacts_manifest_upload()
