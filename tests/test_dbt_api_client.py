"""Our dbt API client against the reference server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from harness.api_server import running_datacoves_api_server
from harness.network import free_port
from harness.unruly_http_server import MIB, unruly_server

from datacoves_airflow_provider.dbt.api_client import DbtApiClient, DbtApiError
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiConfigError, DatacovesApiSettings


def client_for(server, **overrides) -> DbtApiClient:
    env = server.env(**overrides)
    return DbtApiClient(DatacovesApiSettings.from_environment(env))


def test_healthcheck_and_round_trip_with_tags(dbt_api_server, tmp_path):
    client = client_for(dbt_api_server)
    assert client.healthcheck() == {"status": "ok"}
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"try": 1}')
    second.write_text('{"try": 2, "text": "quotes \\" and ünïcode"}')
    name = "my_dag/manual__2024-01-02T00:00:00+00:00/dbt_build/run_results.json"  # slashes, ':' and '+'
    client.upload(name, first, tag="run-1")
    client.upload(name, second, tag="run-2")

    out = tmp_path / "out" / "run_results.json"
    assert client.download(name, out, tag="run-1") and out.read_text() == first.read_text()
    assert client.download(name, out) and out.read_text() == second.read_text()  # untagged: the latest
    assert client.file_info(name, tag="run-2")["size"] == second.stat().st_size
    assert [f["tag"] for f in client.list_files(tag="run-1")] == ["run-1"]

    client.upload(name, second, tag="run-1")  # same name and tag: replaced, not duplicated
    assert len([f for f in client.list_files() if f["filename"] == name]) == 2
    assert client.download(name, out, tag="run-1") and out.read_text() == second.read_text()


def test_missing_files_are_not_errors(dbt_api_server, tmp_path):
    client = client_for(dbt_api_server)
    out = tmp_path / "run_results.json"
    assert client.download("nope/run_results.json", out) is False
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no partial file left behind
    assert client.file_info("nope.json") is None
    assert client.delete("nope.json") is False


def test_environments_are_isolated_and_promote_copies_to_the_project(dbt_api_server, tmp_path):
    source = tmp_path / "manifest.json"
    source.write_text(json.dumps({"metadata": {"v": 1}, "nodes": {"model.x": {}}, "macros": {"m": {}}}))
    dev = client_for(dbt_api_server, DATACOVES__ENVIRONMENT_SLUG="dev111")
    prd = client_for(dbt_api_server, DATACOVES__ENVIRONMENT_SLUG="prd222")
    dev.upload("manifest.json", source, tag="latest", is_manifest=True)
    assert prd.download("manifest.json", tmp_path / "x.json") is False
    assert dev.manifest(trim=True) == {"metadata": {"v": 1}, "nodes": {"model.x": {}}}
    assert "macros" in dev.manifest()
    dev.promote("manifest.json", tag="latest")
    assert prd.download("manifest.json", tmp_path / "p.json", scope="project")
    assert dev.delete("manifest.json", tag="latest") is True
    assert dev.file_info("manifest.json") is None


def test_a_wrong_token_is_a_clear_error_without_the_token(dbt_api_server, tmp_path):
    client = client_for(dbt_api_server, DATACOVES__API_TOKEN="wrong-token-abcdef")
    with pytest.raises(DbtApiError) as info:
        client.download("x.json", tmp_path / "x.json")
    message = str(info.value)
    assert "401" in message and "DATACOVES__API_TOKEN was rejected" in message
    assert "wrong-token-abcdef" not in message and dbt_api_server.token not in message
    assert "wrong-token-abcdef" not in repr(client.settings)


def test_missing_settings_name_the_variables():
    with pytest.raises(
        DatacovesApiConfigError,
        match="DATACOVES__API_TOKEN, DATACOVES__ACCOUNT_ID or DATACOVES__ACCOUNT_SLUG",
    ):
        DatacovesApiSettings.from_environment(
            {
                "DATACOVES__API_ENDPOINT": "http://x",
                "DATACOVES__PROJECT_SLUG": "p",
                "DATACOVES__ENVIRONMENT_SLUG": "e",
            }
        )


def test_5xx_answers_are_retried(tmp_path):
    with running_datacoves_api_server(tmp_path / "data", "--fail-first", "2") as server:
        client = client_for(server)
        source = tmp_path / "f.json"
        source.write_text("{}")
        client.upload("f.json", source, tag="t")  # 503, 503, then stored
        statuses = [r["status"] for r in server.requests()]
        assert statuses == [503, 503, 201]
        assert client.download("f.json", tmp_path / "g.json", tag="t")


def test_uploads_stream_from_disk_and_a_retry_sends_the_whole_file_again(tmp_path):
    """A 24 MiB artifact is sent in chunks (the client never holds the file: requests' ``files=``
    built the whole body in memory), and after two 503s the stored copy is byte-identical."""
    source = tmp_path / "manifest.json"
    with source.open("wb") as handle:
        for i in range(24):
            handle.write(bytes([i]) * (MIB - 1) + b"\n")
    with running_datacoves_api_server(tmp_path / "data", "--fail-first", "2") as server:
        client = client_for(server)
        tracemalloc.start()
        try:
            client.upload("target/manifest.json", source, tag="latest", is_manifest=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert [r["status"] for r in server.requests()] == [503, 503, 201]
        assert client.download("target/manifest.json", tmp_path / "back.json", tag="latest")
    assert (tmp_path / "back.json").read_bytes() == source.read_bytes()
    assert peak < 4 * MIB, f"the upload held {peak / MIB:.1f} MiB"


def test_an_unreachable_api_fails_within_bounded_time(tmp_path):
    settings = DatacovesApiSettings(f"http://127.0.0.1:{free_port()}", "tok", "a", "p", "e")
    started = time.monotonic()
    with pytest.raises(DbtApiError, match="failed after 4 attempts"):
        DbtApiClient(settings).download("x.json", tmp_path / "x.json")
    assert time.monotonic() - started < 30


def test_json_calls_are_bounded(tmp_path):
    """Budget: timeout 2 s x (1 retry + 1) = 4 s per call; JSON replies capped, artifacts not."""
    with unruly_server() as server:

        def client(path: str) -> DbtApiClient:
            settings = DatacovesApiSettings(f"{server.url}/{path}", "tok", "a", "p", "e")
            return DbtApiClient(settings, timeout=2, retries=1)

        started = time.monotonic()
        with pytest.raises(DbtApiError, match=r"asked to be retried later \(Retry-After: 99999\)"):
            client("retry-after/99999").list_files()
        assert time.monotonic() - started < 3 and server.requests["retry-after/99999"] == 1

        started = time.monotonic()
        with pytest.raises(DbtApiError, match="did not answer within this call's 4 s budget"):
            client("trickle/1").file_info("run_results.json")
        assert 3.5 < time.monotonic() - started < 9

        tracemalloc.start()
        try:
            with pytest.raises(DbtApiError, match="larger than 200 MiB, the most this provider reads"):
                client("huge/300").manifest()  # refused on its Content-Length, before reading
            with pytest.raises(DbtApiError, match="answered 500"):
                client("huge-error/100").file_info("run_results.json")  # only the start is read
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 30 * MIB, f"peak {peak / 1e6:.0f} MB"

        with pytest.raises(DbtApiError, match="nested too deeply"):
            client("nested/100000").healthcheck()

        # an artifact download is not a JSON reply: it streams to disk, uncapped
        target = tmp_path / "manifest.json"
        assert client("huge/30").download("manifest.json", target)
        assert target.stat().st_size == 30 * MIB
