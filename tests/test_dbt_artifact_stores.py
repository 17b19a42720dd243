"""The three artifact stores behind one interface: a folder, the dbt API (reference server) and
S3 (moto's server), each exercised with the same contract; and the store selection by configuration."""

from __future__ import annotations

import os

import pytest
from conftest import aws_connection

from datacoves_airflow_provider.hooks.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.hooks.dbt_api import DbtApiClient
from datacoves_airflow_provider.hooks.dbt_artifact_store import (
    ArtifactKey,
    ArtifactStoreConfigError,
    DbtApiArtifactStore,
    LocalArtifactStore,
    RunScope,
    S3ArtifactStore,
    artifact_store_from_config,
    decode_metadata_value,
    encode_metadata_value,
)

RUN_A = RunScope("sales", "scheduled__2024-01-02T00:00:00+00:00", "dbt_build")
RUN_B = RunScope("sales", "manual__2024-01-02T05:00:00+00:00", "dbt_build")


@pytest.fixture(params=["local", "api", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "store")
    if request.param == "api":
        server = request.getfixturevalue("dbt_api_server")
        env = server.env(DATACOVES__ENVIRONMENT_SLUG=f"env_{tmp_path.name}")
        return DbtApiArtifactStore(DbtApiClient(DatacovesApiSettings.from_environment(env)))
    return make_s3_store(request.getfixturevalue("moto_server"), tmp_path, monkeypatch)


def make_s3_store(endpoint, tmp_path, monkeypatch):
    """An S3 store on moto's server, in a bucket of its own."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_ARTIFACTS", aws_connection(endpoint))
    import boto3

    bucket = f"artifacts-{tmp_path.name.lower().replace('_', '-')}"[:60]
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    ).create_bucket(Bucket=bucket)
    return S3ArtifactStore(bucket, "team/dbt", "aws_artifacts")


def test_store_contract(store, tmp_path):
    source = tmp_path / "run_results.json"
    out = tmp_path / "out" / "logs" / "run_results.json"
    run_a = ArtifactKey("run_results.json", RUN_A, RUN_A.run_id)
    run_b = ArtifactKey("run_results.json", RUN_B, RUN_B.run_id)
    shared = ArtifactKey("partial_parse.msgpack", None, "latest")

    assert store.download(run_a, out) is False and not out.exists()

    source.write_text('{"run": "A"}')
    store.upload(run_a, source)
    source.write_text('{"run": "B"}')
    store.upload(run_b, source)
    source.write_bytes(b"\x00\x01binary")
    store.upload(shared, source)

    assert store.download(run_a, out) and out.read_text() == '{"run": "A"}'  # runs never mix
    assert store.download(run_b, out) and out.read_text() == '{"run": "B"}'
    assert store.download(shared, out) and out.read_bytes() == b"\x00\x01binary"

    source.write_text('{"run": "A", "try": 2}')
    store.upload(run_a, source)  # a later try replaces the earlier one
    assert store.download(run_a, out) and out.read_text() == '{"run": "A", "try": 2}'
    mapped = ArtifactKey("run_results.json", RunScope("sales", RUN_A.run_id, "dbt_build", 3), "t")
    assert store.download(mapped, out) is False  # a mapped instance has its own key
    assert [p.name for p in out.parent.iterdir()] == ["run_results.json"]  # no partial files


def test_keys_hold_dag_run_and_task():
    key = ArtifactKey("target/manifest.json", RunScope("d", "manual__x/y", "group.task", 2), "tag")
    assert key.path == "runs/d/manual__x%2Fy/group.task[2]/target/manifest.json"
    assert ArtifactKey("graph.gpickle", None, "latest").path == "latest/graph.gpickle"
    assert DbtApiArtifactStore.filename(key) == "d/manual__x%2Fy/group.task[2]/target/manifest.json"


def test_ordinary_run_ids_keep_their_keys():
    """Keys of ordinary run ids are byte-identical to earlier versions' (stored artifacts are found)."""
    for run_id, part in [
        ("manual__2024-01-01T00:00:00+00:00", "manual__2024-01-01T00%3A00%3A00%2B00%3A00"),
        ("scheduled__2024-01-02T00:00:00+00:00", "scheduled__2024-01-02T00%3A00%3A00%2B00%3A00"),
        ("backfill__2024-01-02T00:00:00+00:00", "backfill__2024-01-02T00%3A00%3A00%2B00%3A00"),
        ("my.run-1_x~", "my.run-1_x~"),
    ]:
        key = ArtifactKey("run_results.json", RunScope("sales.daily", run_id, "dbt_build"), run_id)
        assert key.path == f"runs/sales.daily/{part}/dbt_build/run_results.json"


#: Run ids a folder or an S3 key cannot hold as they are, and ids that could collide with their encoding.
ODD_RUN_IDS = [
    ".",
    "..",
    "...",
    "%2E",
    "%2E%2E",
    "/",
    "../..",
    "a/../b",
    "%",
    "back\\slash",
    "new\nline",
    "ü" * 250,  # 500 bytes of UTF-8, 1500 once percent-encoded
    "ü" * 249 + "v",
    "x" * 250,
]


def test_odd_run_ids_make_distinct_safe_keys():
    parts = [RunScope("d", run_id, "t").parts()[1] for run_id in ODD_RUN_IDS]
    assert len(set(parts)) == len(parts)  # collision-free
    for part in parts:
        assert part not in (".", "..") and "/" not in part and len(part.encode()) <= 255 and part.isascii()
    assert parts[:2] == ["%2E", "%2E%2E"]
    assert RunScope("..", "..", "..").parts() == ("%2E%2E", "%2E%2E", "%2E%2E")


def test_odd_run_ids_round_trip_through_the_store(store, tmp_path):
    source = tmp_path / "run_results.json"
    # the reference dbt API server keeps each (name, tag) in a folder named after both: no 250-character ids
    run_ids = (
        [r for r in ODD_RUN_IDS if len(r) < 20] if isinstance(store, DbtApiArtifactStore) else ODD_RUN_IDS
    )
    keys = [
        ArtifactKey("run_results.json", RunScope("sales", run_id, "dbt_build"), run_id) for run_id in run_ids
    ]
    for index, key in enumerate(keys):
        source.write_text(f'{{"run": {index}}}')
        store.upload(key, source)
    for index, key in enumerate(keys):
        out = tmp_path / "out" / f"{index}.json"
        assert store.download(key, out) and out.read_text() == f'{{"run": {index}}}', run_ids[index]
    if isinstance(store, LocalArtifactStore):
        stored = sorted(p for p in store.root.rglob("*") if p.is_file())
        assert len(stored) == len(keys)
        assert all(p.resolve().is_relative_to(store.root / "runs" / "sales") for p in stored)


def test_s3_metadata_carries_non_ascii_tags(moto_server, tmp_path, monkeypatch):
    store = make_s3_store(moto_server, tmp_path, monkeypatch)
    source = tmp_path / "run_results.json"
    source.write_text("{}")
    raw = store._s3()
    for tag in [
        "nächtlich-日本",
        "=?UTF-8?B?eA==?=",
        "tab\there",
        " padded ",
        "manual__2024-01-01T00:00:00+00:00",
    ]:
        key = ArtifactKey("run_results.json", RunScope("sales", "manual__1", "dbt_build"), tag)
        store.upload(key, source)
        assert store.stored_tag(key) == tag
        header = raw.head_object(Bucket=store.bucket, Key=store._object_key(key))["Metadata"]["datacoves-tag"]
        assert header.isascii()
        if tag.startswith("manual__"):
            assert header == tag  # printable ASCII is stored as it is, as before
    missing = ArtifactKey("run_results.json", RunScope("sales", "manual__2", "dbt_build"), "x")
    assert store.stored_tag(missing) is None
    assert decode_metadata_value(encode_metadata_value("ü")) == "ü"
    assert decode_metadata_value("=?UTF-8?B?not base64!?=") == "=?UTF-8?B?not base64!?="


@pytest.mark.parametrize(
    ("setting", "env", "expected"),
    [
        ("", {}, "folder {home}/dbt_artifacts"),
        ("/srv/artifacts", {}, "folder /srv/artifacts"),
        ("file:///srv/artifacts", {}, "folder /srv/artifacts"),
        ("file:/srv/artifacts", {}, "folder /srv/artifacts"),
        ("file:///srv/dbt%20artifacts", {}, "folder /srv/dbt artifacts"),
        ("s3://bucket/some/prefix", {}, "s3://bucket/some/prefix (connection 'aws_default')"),
        ("", {"DATACOVES__API_ENDPOINT": "http://api"}, "the dbt API at http://api"),
        ("api", {}, "the dbt API at http://api"),
    ],
)
def test_store_selection_by_configuration(monkeypatch, tmp_path, setting, env, expected):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE", setting)
    for name in ("DATACOVES__API_ENDPOINT", "DATACOVES__API_TOKEN", "DATACOVES__ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    api = {
        "DATACOVES__API_ENDPOINT": "http://api",
        "DATACOVES__API_TOKEN": "t",
        "DATACOVES__ACCOUNT_ID": "1",
        "DATACOVES__PROJECT_SLUG": "p",
        "DATACOVES__ENVIRONMENT_SLUG": "e",
    }
    for name, value in ({**api, **env} if setting == "api" else env).items():
        monkeypatch.setenv(name, value)
    if env.get("DATACOVES__API_ENDPOINT"):
        for name, value in api.items():
            monkeypatch.setenv(name, value)
    assert artifact_store_from_config().description.startswith(expected.format(home=tmp_path))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "api",
            "dbt_artifact_store is 'api', but The dbt API is not configured on this worker: set DATACOVES__API_ENDPOINT",
        ),
        ("gs://bucket/x", "is not a store this provider knows"),
        ("relative/folder", "is not a store this provider knows"),
        ("relative/folder", "a folder must be an absolute path"),
        ("file://shared-host/srv/artifacts", "names the host 'shared-host'"),
        ("file://srv/artifacts", "names the host 'srv'"),
        ("file:artifacts", "is a relative folder"),
        ("file:./artifacts", "is a relative folder"),
        ("file:///srv/artifacts#x", "part, which a folder cannot have"),
        ("s3:///prefix", "names no bucket"),
    ],
)
def test_misconfigured_stores_are_named(monkeypatch, setting, message):
    monkeypatch.setenv("AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE", setting)
    for name in list(os.environ):
        if name.startswith("DATACOVES__"):
            monkeypatch.delenv(name)
    with pytest.raises(ArtifactStoreConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        artifact_store_from_config()
