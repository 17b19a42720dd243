"""A Datacoves worker, reproduced: the environment PLATFORM.md §1 lists, under a real scheduler
(LocalExecutor on PostgreSQL; api-server and dag-processor on Airflow 3), with no ``[datacoves]``
settings and no ``backend_kwargs``.

The read-only git-sync clone holds the DAGs folder and the dbt project and is made unwritable;
``DATACOVES__REPO_PATH`` names a folder that does not exist; the platform's URLs point at the
reference server, which speaks the platform's dialect (internal dbt API, secrets API, manifest
upload) and records every request; the token variables are set as the platform sets them
(``AIRFLOW_VAR_DATACOVES-...``). One Airflow start-up runs every scenario of
tests/dags/platform_worker_scenarios.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest
from harness.airflow_cluster import airflow_cluster
from harness.api_server import DBT_API_TOKEN, MANIFEST_TOKEN, running_datacoves_api_server
from harness.dbt import RETRIED, dbt_env
from harness.platform_repo import PlatformRepo, build_platform_repo, release_platform_repo
from harness.repos import tree_fingerprint
from harness.webhook_recorder import webhook_recorder

pytestmark = pytest.mark.slow

DAGS = Path(__file__).parent / "dags"
ENV_SLUG = "dev123"
PROJECT_SLUG = "balboa"
GOOD_PAYMENTS = "id,customer_id,amount\n1,1,10\n2,1,15\n3,2,20\n"
PRIMARY_TOKEN = "primary-secret-token-5521"
SECRETS = [
    {
        "slug": "datacoves-platform_var",
        "format": "key_value",
        "value": "platform-var-value-3391",
        "project": PROJECT_SLUG,
        "environment": ENV_SLUG,
    },
    {
        "slug": "datacoves-platform_conn",
        "format": "json",
        "value": {
            "conn_type": "postgres",
            "host": "wh.internal",
            "login": "loader",
            "password": "platform-conn-pass-6024",
            "extra_dejson": {"role": "transformer"},
        },
        "project": PROJECT_SLUG,
        "environment": ENV_SLUG,
    },
]
SECRET_VALUES = ["platform-var-value-3391", "platform-conn-pass-6024"]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def platform_environment(
    *, repo: PlatformRepo, scratch: Path, api_url: str, teams_url: str, dbt_venv: Path, evidence: Path
) -> dict[str, str]:
    """The variables a Datacoves worker has (PLATFORM.md §1), pointed at local stand-ins."""
    dbt = dbt_env(dbt_venv)
    del dbt["AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV"]  # no [datacoves] settings: dbt is found on PATH
    clone = repo.clone
    return {
        # the repository: the read-only clone, and a read-write copy folder that does not exist yet
        **repo.env(),
        "DATACOVES__DBT_HOME": str(clone / "billing"),  # the retry DAG's project
        "DATACOVES__DAGS_FOLDER": str(clone / "orchestrate" / "dags"),
        "DATACOVES__YAML_DAGS_FOLDER": str(clone / "orchestrate" / "dags_yml_definitions"),
        "DATACOVES__ACCOUNT_SLUG": "acme",
        "DATACOVES__ACCOUNT_ID": "1",
        "DATACOVES__PROJECT_SLUG": PROJECT_SLUG,
        "DATACOVES__ENVIRONMENT_SLUG": ENV_SLUG,
        "DATACOVES__DBT_PROFILE": "default",
        "DATACOVES__AIRFLOW_TYPE": "team_airflow",
        "DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION": "TEAMS",
        # the platform's services
        "DATACOVES__DBT_API_URL": api_url,
        "DATACOVES__SECRETS_API_ENDPOINT": f"{api_url}/api/v1/secrets/{ENV_SLUG}",
        "DATACOVES__SECRETS_PUSH_ENDPOINT": f"{api_url}/api/v1/secret-push/{ENV_SLUG}",
        "DATACOVES__SECONDARY_SECRET_MANAGER": "none",
        "DATACOVES__BASE_URL_CORE_API": "http://core-api-svc.core.svc",
        "DATACOVES__UPLOAD_MANIFEST": "true",
        "DATACOVES__UPLOAD_MANIFEST_URL": f"{api_url}/api/internal/manifests",
        "DATACOVES__UPLOAD_MANIFEST_TOKEN": MANIFEST_TOKEN,
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
        # the token variables, as the platform sets them
        "AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET": PRIMARY_TOKEN,
        "AIRFLOW_VAR_DATACOVES-DBT-API-SECRET": DBT_API_TOKEN,
        # the platform's own secrets backend is ours, with no backend_kwargs
        "AIRFLOW__SECRETS__BACKEND": "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
        # what the test itself needs: dbt on PATH (the platform's image has it in its virtualenv),
        # the warehouse and Teams connections, the landing folder and the evidence folder
        "PATH": f"{os.environ['PATH']}:{dbt_venv / 'bin'}",
        "AIRFLOW_CONN_MAIN": json.dumps({"conn_type": "duckdb", "host": str(scratch / "billing.duckdb")}),
        "AIRFLOW_CONN_MS_TEAMS": json.dumps({"conn_type": "http", "host": f"{teams_url}/workflows/alerts"}),
        "BILLING_LANDING_DIR": str(scratch / "landing"),
        "EVIDENCE": str(evidence),
        **dbt,
    }


@pytest.mark.quick  # scripts/test.sh --quick runs it: one start-up, a real run of every task feature
def test_a_datacoves_worker_runs_every_feature_unchanged(tmp_path, dbt_venv):
    scratch = tmp_path / "worker"
    (scratch / "landing").mkdir(parents=True)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    repo = build_platform_repo(tmp_path / "opt", [DAGS / "platform_worker_scenarios.py"])
    clone = repo.clone
    dags = clone / "orchestrate" / "dags"
    before = tree_fingerprint(clone)
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps(SECRETS))
    server_args = (
        "--secrets-file",
        str(secrets_file),
        "--secrets-token",
        PRIMARY_TOKEN,
        "--dbt-api-token",
        DBT_API_TOKEN,
        "--manifest-token",
        MANIFEST_TOKEN,
    )
    try:
        with (
            running_datacoves_api_server(tmp_path / "api", *server_args) as api,
            webhook_recorder() as teams,
        ):
            env = platform_environment(
                repo=repo,
                scratch=scratch,
                api_url=api.url,
                teams_url=teams.url,
                dbt_venv=dbt_venv,
                evidence=evidence,
            )
            with airflow_cluster(tmp_path / "airflow", dags, **env) as cluster:
                run = cluster.trigger("platform_worker")
                alert_run = cluster.trigger("platform_alert")
                deadline = time.monotonic() + 300
                while (ti := cluster.task_tries("platform_worker", run).get("dbt_build")) is None or (
                    ti.state != "up_for_retry"
                ):
                    assert ti is None or ti.state not in ("success", "failed"), (
                        f"first try ended {ti}\n{cluster.logs()}"
                    )
                    assert time.monotonic() < deadline, f"no retry was scheduled: {ti}\n{cluster.logs()}"
                    cluster.check_alive()
                    time.sleep(0.5)
                (scratch / "landing" / "payments.csv").write_text(GOOD_PAYMENTS)
                assert cluster.wait_for_run("platform_worker", run) == "success", (
                    f"{cluster.task_tries('platform_worker', run)}\n{cluster.logs()}"
                )
                assert cluster.wait_for_run("platform_alert", alert_run) == "failed", cluster.logs()
                tries = cluster.task_tries("platform_worker", run)
                logs = {
                    (task_id, attempt): cluster.task_log("platform_worker", run, task_id, attempt)
                    for task_id, ti in tries.items()
                    for attempt in range(1, ti.try_number + 1)
                }
                logs[("load_orders", 1)] = cluster.task_log("platform_alert", alert_run, "load_orders", 1)
                rendered = json.dumps(
                    cluster.sql("select task_id, rendered_fields::text from rendered_task_instance_fields")
                )
                xcoms = json.dumps(cluster.sql("select task_id, key, value::text from xcom"), default=str)
            requests = api.requests()
            # the internal routes' traffic, and the retry's results read back while the server is up
            check_dbt_api_requests(requests, api.url)
            alerts = teams.snapshot()
        after = tree_fingerprint(clone)
    finally:
        release_platform_repo(repo)

    everything = "\n".join(logs.values()) + rendered + xcoms
    # nothing leaked: tokens and secret values appear in no log, rendered template or XCom
    leaked = [s for s in [PRIMARY_TOKEN, DBT_API_TOKEN, MANIFEST_TOKEN, *SECRET_VALUES] if s in everything]
    assert not leaked, f"leaked: {leaked}"

    # 1. the repository: the task ran in its own copy; the clone and the shared folder are untouched
    copy = (evidence / "repo_path").read_text().strip()
    assert copy not in (str(clone), env["DATACOVES__REPO_PATH"]), copy
    assert (evidence / "cwd").read_text().strip() == str(Path(copy).resolve())
    assert (evidence / "written").read_text().strip() == "written"
    assert (evidence / "dbt_home").read_text().strip() == str(Path(copy).resolve() / "billing")
    assert not Path(copy).exists(), "the task's copy outlived the task"
    assert not Path(env["DATACOVES__REPO_PATH"]).exists(), "something wrote to the shared folder"
    assert after == before

    # 2. dbt: the retry reran only what failed, through the platform's internal routes
    assert tries["dbt_build"].try_number == 2, tries
    try_1, try_2 = logs[("dbt_build", 1)], logs[("dbt_build", 2)]
    assert "model.billing.payments (error)" in try_1, try_1[-3000:]
    assert "expected_files=['run_results.json'] (of ['run_results.json'])" in try_2, try_2[-3000:]
    assert "dbt build -s result:error+ --state logs" in try_2
    for log in (try_1, try_2, logs[("dbt_customers", 1)]):
        assert log.count("dbt artifact store: the platform's dbt API") == 1, log[-3000:]
        assert "chosen by DATACOVES__DBT_API_URL" in log
        assert "no dbt API is configured" not in log
    platform_requests = [r for r in requests if "/api/internal/" in r["path"] or "/api/v2/" in r["path"]]
    assert platform_requests, requests
    assert not [r for r in requests if "/api/v3/" in r["path"]], "the public v3 routes were used"
    # (check_dbt_api_requests ran while the server was up: the retry's results held only what it reran)

    # 3. secrets: each datacoves- name asked once, through the platform route; the tokens never
    secret_calls = Counter(r["query"].get("slug") for r in requests if "/api/v1/secrets/" in r["path"])
    assert secret_calls == {"datacoves-platform_var": 1, "datacoves-platform_conn": 1}, secret_calls
    assert (evidence / "datacoves-platform_var").read_text() == digest("platform-var-value-3391")
    assert (evidence / "datacoves-platform_conn").read_text() == digest(
        "wh.internal|loader|platform-conn-pass-6024|transformer"
    )

    # 4. manifest upload after each dbt command that wrote a manifest
    uploads = [r for r in requests if r["path"].endswith("/api/internal/manifests")]
    assert len(uploads) == 3, uploads  # dbt_customers, and both tries of dbt_build
    for upload in uploads:
        assert upload["status"] in (200, 201), upload
        assert upload["form"]["environment_slug"] == ENV_SLUG
        assert upload["form"]["dag_id"] == "platform_worker"
        assert upload["form"]["run_id"] == run

    # 5. one alert, through the integration the environment names
    assert len(alerts) == 1, alerts
    card = alerts[0].json()
    assert "load_orders" in json.dumps(card)
    assert "platform_alert" in json.dumps(card)


def check_dbt_api_requests(requests: list[dict], api_url: str) -> None:
    """Each artifact moved once per try, through the internal routes with the dbt API token; the two
    dbt tasks of one run kept their own run results; the retry's results hold only what it reran."""
    files = [r for r in requests if r["path"] == f"/api/internal/environments/{ENV_SLUG}/files"]
    assert files and {r["auth"] for r in files} == {"bearer:dbt_api"}, files
    uploads = Counter(r["form"]["files[0][tag]"] for r in files if r["method"] == "POST")
    results = {tag: n for tag, n in uploads.items() if tag.endswith("/run_results.json")}
    customers = [tag for tag in results if "/dbt_customers/" in tag]
    build = [tag for tag in results if "/dbt_build/" in tag]
    assert len(customers) == 1 and len(build) == 1, uploads
    assert results[customers[0]] == 1 and results[build[0]] == 2, uploads  # once per try
    downloads = Counter(r["query"].get("tag") for r in files if r["method"] == "GET")
    assert downloads[build[0]] <= 2 and downloads[customers[0]] == 0, downloads
    request = urllib.request.Request(
        f"{api_url}/api/internal/environments/{ENV_SLUG}/files?{urlencode({'tag': build[0]})}",
        headers={"Authorization": f"Bearer {DBT_API_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        contents = json.loads(reply.read())["data"]["contents"]
    contents = json.loads(contents) if isinstance(contents, str) else contents
    retried = {r["unique_id"] for r in contents["results"]}
    retried = {i.rsplit(".", 1)[0] if i.startswith("test.") and i.count(".") == 3 else i for i in retried}
    assert retried == RETRIED, retried
