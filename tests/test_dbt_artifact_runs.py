"""The dbt operator with an artifact store, through ``airflow dags test``: retries that rerun only
what failed, uploads after a failure, shared static artifacts, and the failure policy."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from harness.airflow_env import DagRunResult
from harness.airflow_env import latest_run_id as run_id
from harness.dbt import RETRIED, land_payments, node_ids, run_billing, statuses
from harness.network import free_port

from datacoves_airflow_provider.dbt.api_client import RETRIES, DbtApiClient
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings

DAGS = Path(__file__).parent / "dags"


@pytest.fixture
def billing(airflow_home, demo_repo, dbt_venv, tmp_path) -> Callable[..., DagRunResult]:
    """:func:`harness.dbt.run_billing` on this test's Airflow home and ``tmp_path``, the demo
    repository and the dbt virtualenv: ``billing(dag_id, **env)``."""
    return functools.partial(run_billing, airflow_home, demo_repo, dbt_venv, tmp_path)


@pytest.mark.slow
def test_retry_reruns_only_the_failed_model_and_its_children(billing, airflow_home, dbt_api_server, tmp_path):
    """The docs' retry DAG: try 1 builds everything and fails on `payments`; the retry receives
    expected_files=['run_results.json'] and builds `payments` and what depends on it, nothing else."""
    api_env = dbt_api_server.env(DATACOVES__ENVIRONMENT_SLUG="retry_models")
    result = billing("artifacts_retry_models", **api_env)
    assert result.states == {"dbt_build": "success"}, result.output[-5000:]
    out = result.output
    assert "expected_files=[] (of ['run_results.json'])" in out
    assert "expected_files=['run_results.json'] (of ['run_results.json'])" in out
    assert "No run_results.json (this task instance) in the store yet" in out
    assert "Downloaded run_results.json (this task instance) to logs/run_results.json" in out

    client = DbtApiClient(DatacovesApiSettings.from_environment(api_env))
    run = run_id(airflow_home, "artifacts_retry_models")
    name = f"artifacts_retry_models/{quote(run, safe='')}/dbt_build/run_results.json"
    latest = tmp_path / "latest.json"
    assert client.download(name, latest)
    assert node_ids(latest) == RETRIED
    assert set(statuses(latest).values()) <= {"success", "pass"}
    tags = {f["tag"] for f in client.list_files() if f["filename"] == name}
    assert tags == {run}  # the default upload tag is the run id


@pytest.mark.slow
def test_retry_helper_reruns_failed_tests_too(billing, airflow_home, tmp_path):
    """A failing data test (status `fail`): dbt_retry_command rebuilds the tested model, reruns the
    test and builds what was skipped."""
    store = tmp_path / "store"
    land_payments(tmp_path, "id,customer_id,amount\n1,1,10\n2,2,-5\n")
    result = billing("artifacts_retry_tests", AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=str(store))
    assert result.states == {"dbt_build": "success"}, result.output[-5000:]
    assert "-s result:error+ 1+result:fail result:skipped+ --state logs" in result.output
    run = run_id(airflow_home, "artifacts_retry_tests")
    uploaded = (
        store / "runs" / "artifacts_retry_tests" / quote(run, safe="") / "dbt_build" / "run_results.json"
    )
    assert node_ids(uploaded) == RETRIED
    assert set(statuses(uploaded).values()) == {"success", "pass"}


@pytest.mark.slow
def test_uploads_after_a_failure_and_shared_static_artifacts(billing, airflow_home, dbt_api_server, tmp_path):
    api_env = dbt_api_server.env(DATACOVES__ENVIRONMENT_SLUG="uploads")
    result = billing("artifacts_uploads", **api_env)
    assert result.states == {"dbt_build": "failed", "dbt_ls": "success"}, result.output[-5000:]
    assert "dbt failed with exit code 1: model.billing.payments (error)" in result.output
    client = DbtApiClient(DatacovesApiSettings.from_environment(api_env))
    files = {f["filename"]: f for f in client.list_files()}
    run = quote(run_id(airflow_home, "artifacts_uploads"), safe="")
    prefix = f"artifacts_uploads/{run}/dbt_build/"
    assert files[prefix + "run_results.json"]["tag"] == "nightly-2024-01-02"  # templated upload_tag
    assert files[prefix + "target/manifest.json"]["tag"] == "nightly-2024-01-02"
    assert files[prefix + "target/manifest.json"]["is_manifest"] is True
    for name in ("graph_summary.json", "graph.gpickle", "partial_parse.msgpack", "semantic_manifest.json"):
        assert files[name]["tag"] == "latest", name
    results = tmp_path / "rr.json"
    assert client.download(prefix + "run_results.json", results)
    assert statuses(results)["model.billing.payments"] == "error"
    # dbt_ls: static artifacts downloaded; another task's additional file is not this task's
    assert (
        "Downloaded partial_parse.msgpack (shared, tag latest) to target/partial_parse.msgpack"
        in result.output
    )
    assert "No target/manifest.json (this task instance) in the store yet" in result.output


@pytest.mark.slow
def test_a_refused_partial_parse_file_is_explained(billing, tmp_path):
    """One task uploads partial_parse.msgpack; the task that uses it under another target logs why
    dbt parsed everything again and returns it in its summary; the one under the same target
    (a partial parse that works) says nothing more."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    result = billing(
        "artifacts_partial_parse",
        AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=str(tmp_path / "store"),
        EVIDENCE=str(evidence),
    )
    assert set(result.states.values()) == {"success"}, result.output[-5000:]
    out = result.output
    # two tasks downloaded the file, one of them explains (Airflow 2 prints each task log line twice)
    downloads = out.count("Downloaded partial_parse.msgpack (shared, tag latest)")
    assert downloads in (2, 4), out[-8000:]
    assert out.count("dbt parsed the whole project again") == downloads // 2, out[-8000:]
    block = out[out.index("dbt parsed the whole project again") :].splitlines()[:3]
    assert block[0].endswith("it refused the downloaded partial_parse.msgpack because")
    assert "  - vars hash differs: the profile name, the target name or --vars" in block[1]
    assert "(this task passes profile 'default', target 'other')" in block[1]
    assert "  - " not in block[2]  # the connection fields are the same: one reason only
    summaries = json.loads((evidence / "summaries.json").read_text())
    (reason,) = summaries["other"]["full_reparse_reason"]
    assert f"  - {reason}" in block[1]
    assert summaries["other"]["command"] == "build"  # the usual summary, one key more
    assert "full_reparse_reason" not in summaries["same"]


@pytest.mark.slow
def test_a_store_outage_never_changes_the_outcome(billing):
    dead = f"http://127.0.0.1:{free_port()}"
    env = {
        "DATACOVES__API_ENDPOINT": dead,
        "DATACOVES__API_TOKEN": "tok-never-logged-123",
        "DATACOVES__ACCOUNT_ID": "a",
        "DATACOVES__PROJECT_SLUG": "p",
        "DATACOVES__ENVIRONMENT_SLUG": "e",
    }
    result = billing("artifacts_store_down", **env)
    assert result.states == {"dbt_succeeds": "success", "dbt_fails": "failed"}, result.output[-5000:]
    assert (
        "dbt artifact store: download of run_results.json failed, the task goes on as if it were absent"
        in result.output
    )
    assert "dbt artifact store: upload of run_results.json failed, dbt's own result stands" in result.output
    assert "The task's outcome is dbt's alone" in result.output
    assert f"failed after {RETRIES + 1} attempts" in result.output  # bounded, per request
    assert "tok-never-logged-123" not in result.output


@pytest.mark.slow
def test_a_misconfigured_store_fails_before_dbt_runs(billing, tmp_path):
    result = billing("artifacts_misconfigured", AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE="gs://bucket/x")
    assert result.states == {"dbt_build": "failed"}, result.output[-5000:]
    assert "dbt_api_enabled=True, but the artifact store is misconfigured" in result.output
    assert not (tmp_path / "landing" / "ran").exists()  # the command never started


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"download_run_results": True},
            "download_run_results=True need the artifact store; add dbt_api_enabled=True",
        ),
        ({"upload_tag": "x"}, "upload_tag need the artifact store"),
        ({"dbt_api_enabled": "yes"}, "dbt_api_enabled must be True or False"),
        (
            {"dbt_api_enabled": True, "upload_additional_files": "target/manifest.json"},
            "must be a list of paths",
        ),
        (
            {"dbt_api_enabled": True, "download_additional_files": ["../secrets.txt"]},
            "must stay inside the dbt project folder",
        ),
        ({"dbt_api_enabled": True, "upload_tag": ""}, "upload_tag must be a non-empty string"),
    ],
)
def test_artifact_parameters_are_checked_at_parse_time(kwargs, message):
    from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(")):
        DatacovesDbtOperator(task_id="t", bash_command="dbt build", **kwargs)


def test_expected_files_must_be_downloadable(tmp_path):
    from airflow.decorators import dag, task

    @dag(schedule=None, start_date=None)
    def d():
        @task.datacoves_dbt(dbt_api_enabled=True)
        def dbt_build(expected_files: list | None = None):
            return "dbt build"

        dbt_build(expected_files=["run_results.json"])

    with pytest.raises(
        ValueError, match=r"expected_files lists run_results\.json, which this task never downloads"
    ):
        d()


# -- the platform's internal routes ------------------------------------------------------------------


def platform_client(server, environment: str):
    from datacoves_airflow_provider.dbt.platform_api import DbtPlatformApiClient, DbtPlatformApiSettings

    env = server.platform_env(DATACOVES__ENVIRONMENT_SLUG=environment)
    return DbtPlatformApiClient(DbtPlatformApiSettings.from_environment(env, token=server.dbt_api_token))


@pytest.mark.slow
def test_two_dbt_tasks_of_one_run_keep_their_own_run_results_on_the_platform(
    billing, airflow_home, platform_api_server, tmp_path
):
    """Zero configuration on a platform worker: DATACOVES__DBT_API_URL and the Variable select the
    internal routes; `customers` and the retried `dbt_build` each keep their own run_results.json;
    static artifacts go up as `latest-<stem>`; every dbt command's manifest is uploaded."""
    env = platform_api_server.platform_env(DATACOVES__ENVIRONMENT_SLUG="two_tasks")
    before = len(platform_api_server.requests())
    result = billing("artifacts_platform_two_tasks", **env)
    assert result.states == {"customers": "success", "dbt_build": "success"}, result.output[-5000:]
    out = result.output
    assert (
        f"dbt artifact store: the platform's dbt API at {platform_api_server.url} (internal routes, project "
        "analytics, environment two_tasks), chosen by DATACOVES__DBT_API_URL (no [datacoves] "
        "dbt_artifact_store setting)" in out
    )
    assert "Downloaded run_results.json (this task instance) to logs/run_results.json" in out
    assert platform_api_server.dbt_api_token not in out and platform_api_server.manifest_token not in out

    run = quote(run_id(airflow_home, "artifacts_platform_two_tasks"), safe="")
    client = platform_client(platform_api_server, "two_tasks")
    mine = tmp_path / "customers.json"
    theirs = tmp_path / "dbt_build.json"
    raw_run = run_id(airflow_home, "artifacts_platform_two_tasks")
    assert client.download(
        mine, tag=f"{raw_run}-artifacts_platform_two_tasks/{run}/customers/run_results.json"
    )
    assert client.download(
        theirs, tag=f"{raw_run}-artifacts_platform_two_tasks/{run}/dbt_build/run_results.json"
    )
    assert "model.billing.customers" in node_ids(mine)
    assert not [n for n in node_ids(mine) if "payment" in n]  # not dbt_build's results
    assert node_ids(theirs) == RETRIED

    records = platform_api_server.requests()[before:]
    files = [r for r in records if r["path"] == "/api/internal/environments/two_tasks/files"]
    assert files and all(r["auth"] == "bearer:dbt_api" for r in files)
    assert not [r for r in records if r["path"].startswith("/api/v3/")]  # never the public routes
    tags = [r["form"]["files[0][tag]"] for r in files if r["method"] == "POST"]
    assert "latest-partial_parse" in tags
    assert sum(t.endswith("/run_results.json") for t in tags) == 3  # customers, dbt_build's two tries
    static_reads = [r["query"] for r in files if r["method"] == "GET" and "filename" in r["query"]]
    assert {"filename": "partial_parse.msgpack"} in static_reads
    manifests = [r for r in records if r["path"] == "/api/internal/manifests"]
    assert len(manifests) == 3, manifests  # one per dbt command, the failed first try included
    assert all(r["auth"] == "bearer:manifest" and r["status"] == 201 for r in manifests)
    assert {r["form"]["dag_id"] for r in manifests} == {"artifacts_platform_two_tasks"}
    assert {r["form"]["run_id"] for r in manifests} == {raw_run}
    assert {r["form"]["environment_slug"] for r in manifests} == {"two_tasks"}
    assert all(r["form"]["file"]["filename"] == "manifest.json" for r in manifests)
    latest = [r for r in records if r["path"].endswith("/latest-manifest")]
    assert latest and all(r["query"] == {"trimmed": "false"} for r in latest)


@pytest.mark.slow
def test_manifest_upload_on_and_off_and_after_a_failure(billing, platform_api_server):
    env = platform_api_server.platform_env(DATACOVES__ENVIRONMENT_SLUG="manifests")
    before = len(platform_api_server.requests())
    result = billing("artifacts_manifest_upload", **env)
    assert result.states == {"parse": "success", "no_upload": "success", "fails": "failed"}, result.output[
        -5000:
    ]
    manifests = [r for r in platform_api_server.requests()[before:] if r["path"] == "/api/internal/manifests"]
    assert len(manifests) == 2  # parse and the failed task; not no_upload
    assert all(r["status"] == 201 and r["form"]["environment_slug"] == "manifests" for r in manifests)
    assert "dbt artifact store" not in result.output  # no store without dbt_api_enabled


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["status_500", "unreachable"])
def test_a_failed_manifest_upload_never_fails_the_task(billing, tmp_path, failure):
    from datacoves_airflow_provider.testing.datacoves_api_server import DatacovesApiServer

    token = "manifest-token-never-logged-31"
    server = DatacovesApiServer(
        ("127.0.0.1", 0), tmp_path / "data", "api", fail_first=1000, fail_status=500, manifest_token=token
    )
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1] if failure == "status_500" else free_port()
    try:
        result = billing(
            "artifacts_manifest_upload",
            DATACOVES__UPLOAD_MANIFEST="Yes",
            DATACOVES__UPLOAD_MANIFEST_URL=f"http://127.0.0.1:{port}/api/internal/manifests",
            DATACOVES__UPLOAD_MANIFEST_TOKEN=token,
            DATACOVES__ENVIRONMENT_SLUG="env123",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.states == {"parse": "success", "no_upload": "success", "fails": "failed"}, result.output[
        -5000:
    ]
    expected = "answered 500" if failure == "status_500" else "failed, the task's outcome is dbt's alone"
    assert f"Manifest upload to http://127.0.0.1:{port}/api/internal/manifests {expected}" in result.output
    assert "WARNING" in result.output or "warning" in result.output
    assert token not in result.output


@pytest.mark.slow
def test_a_datacoves_worker_without_a_dbt_api_says_so_loudly(billing):
    env = {"DATACOVES__AIRFLOW_TYPE": "team_airflow", "DATACOVES__ENVIRONMENT_SLUG": "dev123"}
    result = billing("artifacts_misconfigured", **env)
    assert result.states == {"dbt_build": "success"}, result.output[-5000:]
    line = next(x for x in result.output.splitlines() if "this task runs on a Datacoves worker" in x)
    assert "warn" in line.lower(), line
    assert "DATACOVES__AIRFLOW_TYPE='team_airflow', DATACOVES__ENVIRONMENT_SLUG='dev123'" in line
    assert "Set DATACOVES__DBT_API_URL and the Airflow Variable 'datacoves-dbt-api-secret'" in line


@pytest.mark.slow
def test_a_platform_url_without_its_token_variable_fails_before_dbt_runs(
    billing, platform_api_server, tmp_path
):
    env = platform_api_server.platform_env()
    del env["AIRFLOW_VAR_DATACOVES-DBT-API-SECRET"]
    result = billing("artifacts_misconfigured", **env)
    assert result.states == {"dbt_build": "failed"}, result.output[-5000:]
    assert "the Airflow Variable 'datacoves-dbt-api-secret' does not exist" in result.output
    assert not (tmp_path / "landing" / "ran").exists()
