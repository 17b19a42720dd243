"""The platform's internal dbt API client and the manifest upload, against the reference server
over HTTP (its platform routes and its request record), and their failures."""

from __future__ import annotations

import json
import logging
import threading

import pytest
import requests
from harness.network import free_port

from datacoves_airflow_provider.dbt.api_client import DbtApiError
from datacoves_airflow_provider.dbt.manifest_upload import upload_manifest, upload_manifest_enabled
from datacoves_airflow_provider.dbt.platform_api import (
    V2_PREFIX,
    DbtPlatformApiClient,
    DbtPlatformApiSettings,
    is_truthy,
)
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError
from datacoves_airflow_provider.testing.datacoves_api_server import DatacovesApiServer


def client_for(server, environment: str, **kwargs) -> DbtPlatformApiClient:
    env = server.platform_env(DATACOVES__ENVIRONMENT_SLUG=environment)
    return DbtPlatformApiClient(
        DbtPlatformApiSettings.from_environment(env, token=server.dbt_api_token), **kwargs
    )


def test_files_by_tag_and_by_latest_filename(platform_api_server, tmp_path):
    client = client_for(platform_api_server, "files")
    source = tmp_path / "run_results.json"
    out = tmp_path / "out.json"
    assert client.download(out, tag="nothing-yet") is False and not out.exists()
    source.write_text('{"a": 1}')
    client.upload(source, tag="t1")
    source.write_text("plain text, not JSON")
    client.upload(source, tag="t2")
    assert client.download(out, tag="t1") and json.loads(out.read_text()) == {"a": 1}
    assert client.download(out, filename="run_results.json") and out.read_text() == "plain text, not JSON"
    binary = tmp_path / "partial_parse.msgpack"
    binary.write_bytes(b"\x81\xa1\xff\x00")
    client.upload(binary, tag="latest-partial_parse")
    assert client.download(out, filename="partial_parse.msgpack") and out.read_bytes() == b"\x81\xa1\xff\x00"
    assert client.delete("t1") is True
    assert client.delete("t1") is False
    assert client.download(out, tag="t1") is False

    records = [r for r in platform_api_server.requests() if "/environments/files/" in r["path"]]
    upload = next(r for r in records if r["method"] == "POST")
    assert upload["path"] == "/api/internal/environments/files/files"
    assert upload["auth"] == "bearer:dbt_api"
    assert upload["form"] == {
        "files[0][tag]": "t1",
        "files[0][file]": {"filename": "run_results.json", "size": 8},
    }
    delete = next(r for r in records if r["method"] == "DELETE")
    assert delete["form"] == {"tag": "t1"} and delete["status"] == 200
    by_name = next(r for r in records if r["query"].get("filename") == "run_results.json")
    assert by_name["method"] == "GET" and by_name["status"] == 200


def test_the_v2_prefix_serves_the_same_routes(platform_api_server, tmp_path):
    env = platform_api_server.platform_env(DATACOVES__ENVIRONMENT_SLUG="v2")
    settings = DbtPlatformApiSettings.from_environment(env, token=platform_api_server.dbt_api_token)
    internal = DbtPlatformApiClient(settings)
    v2 = DbtPlatformApiClient(
        DbtPlatformApiSettings(
            url=settings.url, token=settings.token, project="analytics", environment="v2", prefix=V2_PREFIX
        )
    )
    source = tmp_path / "f.json"
    source.write_text('{"v": 2}')
    v2.upload(source, tag="from-v2")
    out = tmp_path / "out.json"
    assert internal.download(out, tag="from-v2") and json.loads(out.read_text()) == {"v": 2}
    assert any(r["path"] == "/api/v2/datacoves/environments/v2/files" for r in platform_api_server.requests())


def test_a_wrong_token_is_refused_without_leaking_it(platform_api_server, tmp_path):
    env = platform_api_server.platform_env(DATACOVES__ENVIRONMENT_SLUG="denied")
    settings = DbtPlatformApiSettings.from_environment(env, token="wrong-token-55aa77")
    with pytest.raises(DbtApiError) as caught:
        DbtPlatformApiClient(settings, retries=0).download(tmp_path / "x", tag="t")
    message = str(caught.value)
    assert (
        "answered 401" in message
        and "the Airflow Variable 'datacoves-dbt-api-secret' was rejected" in message
    )
    assert "wrong-token-55aa77" not in message and "wrong-token-55aa77" not in repr(settings)
    denied = [r for r in platform_api_server.requests() if r["path"].endswith("/denied/files")]
    assert denied[-1]["auth"] == "bearer:unknown" and denied[-1]["status"] == 401
    raw = (platform_api_server.data_dir / "requests.log").read_text()
    assert "wrong-token-55aa77" not in raw and platform_api_server.dbt_api_token not in raw


def test_the_request_record_is_served_over_http(platform_api_server):
    requests.get(f"{platform_api_server.url}/api/internal/environments/e/files?tag=x", timeout=10)
    served = requests.get(f"{platform_api_server.url}/__requests", timeout=10).json()
    assert served == platform_api_server.requests()
    last = served[-1]
    assert last == {
        "method": "GET",
        "path": "/api/internal/environments/e/files",
        "query": {"tag": "x"},
        "auth": "none",
        "form": {},
        "status": 401,
    }


def test_an_unreachable_api_is_bounded(tmp_path):
    settings = DbtPlatformApiSettings(
        url=f"http://127.0.0.1:{free_port()}", token="tok-unreachable-1", project="p", environment="e"
    )
    with pytest.raises(DbtApiError, match="failed after 2 attempts") as caught:
        DbtPlatformApiClient(settings, retries=1, timeout=2).download(tmp_path / "x", filename="f")
    assert "tok-unreachable-1" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATACOVES__DBT_API_URL": "dbt-api:80"}, "DATACOVES__DBT_API_URL is 'dbt-api:80', not a URL"),
        (
            {"DATACOVES__DBT_API_URL": "http://x", "DATACOVES__USE_EXTERNAL_URL": "yes"},
            "DATACOVES__PROJECT_SLUG and DATACOVES__ENVIRONMENT_SLUG are not set",
        ),
        ({}, "the platform's dbt API is not configured on this worker: set DATACOVES__DBT_API_URL"),
    ],
)
def test_settings_errors_name_the_variables(env, message):
    with pytest.raises(DatacovesApiConfigError, match=message):
        DbtPlatformApiSettings.from_environment(env, token="t")


def test_truthy_values():
    assert all(is_truthy(v) for v in ("true", "TRUE", "1", "yes", " Yes "))
    assert not any(is_truthy(v) for v in (None, "", "false", "0", "no", "y", "on"))
    assert upload_manifest_enabled({"DATACOVES__UPLOAD_MANIFEST": "True"})
    assert not upload_manifest_enabled({})


# -- manifest upload -------------------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"metadata": {"dbt_version": "1.9.0"}, "nodes": {"model.x.y": {}}}')
    return path


def manifest_env(url: str, token: str) -> dict[str, str]:
    return {
        "DATACOVES__UPLOAD_MANIFEST": "true",
        "DATACOVES__UPLOAD_MANIFEST_URL": url,
        "DATACOVES__UPLOAD_MANIFEST_TOKEN": token,
        "DATACOVES__ENVIRONMENT_SLUG": "env123",
    }


def test_manifest_upload_sends_the_file_and_fields(platform_api_server, manifest, caplog):
    log = logging.getLogger("test.manifest")
    env = manifest_env(
        f"{platform_api_server.url}/api/internal/manifests", platform_api_server.manifest_token
    )
    with caplog.at_level(logging.INFO, logger="test.manifest"):
        assert upload_manifest(manifest, run_id="manual__1", dag_id="sales", log=log, environ=env)
    record = [r for r in platform_api_server.requests() if r["path"] == "/api/internal/manifests"][-1]
    assert record["method"] == "POST" and record["status"] == 201 and record["auth"] == "bearer:manifest"
    assert record["form"] == {
        "environment_slug": "env123",
        "run_id": "manual__1",
        "dag_id": "sales",
        "file": {"filename": "manifest.json", "size": manifest.stat().st_size},
    }
    stored = sorted((platform_api_server.data_dir / "internal" / "manifests").glob("*/manifest.json"))[-1]
    assert stored.read_bytes() == manifest.read_bytes()
    assert "Uploaded manifest.json to" in caplog.text


def _serve(server: DatacovesApiServer):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "failure", ["status_500", "unreachable", "wrong_token", "missing_token", "not_a_url"]
)
def test_a_failed_manifest_upload_is_a_warning(tmp_path, manifest, caplog, failure):
    token = "manifest-secret-9911aa"
    server = DatacovesApiServer(
        ("127.0.0.1", 0), tmp_path / "data", "api-tok", fail_first=100, fail_status=500, manifest_token=token
    )
    if failure == "wrong_token":
        server.fail_first = 0
        server.named_tokens["manifest"] = "another-token-123456"
    _serve(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/internal/manifests"
        if failure == "unreachable":
            url = f"http://127.0.0.1:{free_port()}/api/internal/manifests"
        env = manifest_env(url, token)
        if failure == "missing_token":
            env["DATACOVES__UPLOAD_MANIFEST_TOKEN"] = ""
        if failure == "not_a_url":
            env["DATACOVES__UPLOAD_MANIFEST_URL"] = "api.example.com/api/internal/manifests"
        log = logging.getLogger("test.manifest")
        with caplog.at_level(logging.INFO, logger="test.manifest"):
            assert upload_manifest(manifest, run_id="r", dag_id="d", log=log, environ=env) is False
    finally:
        server.shutdown()
        server.server_close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "test.manifest"]
    assert len(warnings) == 1, caplog.text
    text = warnings[0].getMessage()
    expected = {
        "status_500": "answered 500, the task's outcome is dbt's alone",
        "unreachable": "failed, the task's outcome is dbt's alone: ",
        "wrong_token": "answered 401, the task's outcome is dbt's alone",
        "missing_token": "Manifest upload skipped: DATACOVES__UPLOAD_MANIFEST is on but "
        "DATACOVES__UPLOAD_MANIFEST_TOKEN is not set",
        "not_a_url": "DATACOVES__UPLOAD_MANIFEST_URL is 'api.example.com/api/internal/manifests', not a URL",
    }[failure]
    assert expected in text
    assert token not in caplog.text
