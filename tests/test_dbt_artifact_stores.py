"""The four artifact stores behind one interface: a folder, the dbt API's public v3 routes and its
internal (platform) routes (reference server) and S3 (moto's server), each exercised with the same
contract; and the store selection by configuration, with its log line and loud warning."""

from __future__ import annotations

import os

import pytest
from harness.warehouses import aws_connection

from datacoves_airflow_provider.dbt.api_client import DbtApiClient
from datacoves_airflow_provider.dbt.artifact_store import (
    ArtifactKey,
    ArtifactStoreConfigError,
    DbtApiArtifactStore,
    LocalArtifactStore,
    PlatformArtifactStore,
    RunScope,
    S3ArtifactStore,
    artifact_store_from_config,
    choose_artifact_store,
    decode_metadata_value,
    encode_metadata_value,
)
from datacoves_airflow_provider.dbt.platform_api import DbtPlatformApiClient, DbtPlatformApiSettings
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings

RUN_A = RunScope("sales", "scheduled__2024-01-02T00:00:00+00:00", "dbt_build")
RUN_B = RunScope("sales", "manual__2024-01-02T05:00:00+00:00", "dbt_build")


@pytest.fixture(params=["local", "api", "platform", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "store")
    if request.param == "api":
        server = request.getfixturevalue("dbt_api_server")
        env = server.env(DATACOVES__ENVIRONMENT_SLUG=f"env_{tmp_path.name}")
        return DbtApiArtifactStore(DbtApiClient(DatacovesApiSettings.from_environment(env)))
    if request.param == "platform":
        return make_platform_store(request.getfixturevalue("platform_api_server"), tmp_path)
    return make_s3_store(request.getfixturevalue("moto_server"), tmp_path, monkeypatch)


def make_platform_store(server, tmp_path):
    """A platform (internal routes) store on the reference server, in an environment of its own."""
    env = server.platform_env(DATACOVES__ENVIRONMENT_SLUG=f"env_{tmp_path.name}")
    settings = DbtPlatformApiSettings.from_environment(env, token=server.dbt_api_token)
    return PlatformArtifactStore(DbtPlatformApiClient(settings))


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
        [r for r in ODD_RUN_IDS if len(r) < 20]
        if isinstance(store, (DbtApiArtifactStore, PlatformArtifactStore))
        else ODD_RUN_IDS
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


#: Variables that select the platform flavour or mark a Datacoves worker (isolated in selection tests).
PLATFORM_VARIABLES = (
    "DATACOVES__DBT_API_URL",
    "DATACOVES__EXTERNAL_URL",
    "DATACOVES__USE_EXTERNAL_URL",
    "DATACOVES__AIRFLOW_TYPE",
    "DATACOVES__ENVIRONMENT_SLUG",
    "DATACOVES__PROJECT_SLUG",
    "AIRFLOW_VAR_DATACOVES-DBT-API-SECRET",
)


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
    for name in (
        "DATACOVES__API_ENDPOINT",
        "DATACOVES__API_TOKEN",
        "DATACOVES__ACCOUNT_ID",
        *PLATFORM_VARIABLES,
    ):
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


def test_platform_flavour_keys_follow_the_platform_and_stay_per_task_instance():
    shared = ArtifactKey("partial_parse.msgpack", None, "latest")
    run = ArtifactKey("run_results.json", RunScope("d", "manual__x/y", "a.b", 2), "nightly")
    assert PlatformArtifactStore.tag(shared) == "latest-partial_parse"
    assert PlatformArtifactStore.tag(run) == "nightly-d/manual__x%2Fy/a.b[2]/run_results.json"
    sibling = ArtifactKey("run_results.json", RunScope("d", "manual__x/y", "other"), "nightly")
    assert PlatformArtifactStore.tag(sibling) != PlatformArtifactStore.tag(run)


def _isolate(monkeypatch, tmp_path, setting=""):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE", setting)
    for name in list(os.environ):
        if name.startswith("DATACOVES__") or name == "AIRFLOW_VAR_DATACOVES-DBT-API-SECRET":
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("setting", "env", "description", "reason"),
    [
        (
            "",
            {"DATACOVES__DBT_API_URL": "http://dbt-api:80"},
            "the platform's dbt API at http://dbt-api:80 (internal routes, project p, environment e)",
            "DATACOVES__DBT_API_URL (no [datacoves] dbt_artifact_store setting)",
        ),
        (
            "",
            {
                "DATACOVES__DBT_API_URL": "http://dbt-api:80",
                "DATACOVES__EXTERNAL_URL": "https://api.example.com",
                "DATACOVES__USE_EXTERNAL_URL": "True",
            },
            "the platform's dbt API at https://api.example.com",
            "DATACOVES__EXTERNAL_URL (no [datacoves] dbt_artifact_store setting)",
        ),
        (
            "",
            {
                "DATACOVES__DBT_API_URL": "http://dbt-api:80",
                "DATACOVES__EXTERNAL_URL": "https://api.example.com",
                "DATACOVES__USE_EXTERNAL_URL": "false",
            },
            "the platform's dbt API at http://dbt-api:80",
            "DATACOVES__DBT_API_URL (no [datacoves] dbt_artifact_store setting)",
        ),
        (  # the platform's routes win over the public v3 routes when both are configured
            "",
            {"DATACOVES__DBT_API_URL": "http://dbt-api:80", "DATACOVES__API_ENDPOINT": "http://api"},
            "the platform's dbt API at http://dbt-api:80",
            "DATACOVES__DBT_API_URL (no [datacoves] dbt_artifact_store setting)",
        ),
        (
            "",
            {
                "DATACOVES__API_ENDPOINT": "http://api",
                "DATACOVES__API_TOKEN": "t",
                "DATACOVES__ACCOUNT_ID": "1",
            },
            "the dbt API at http://api",
            "DATACOVES__API_ENDPOINT (no [datacoves] dbt_artifact_store setting)",
        ),
        (
            "platform",
            {"DATACOVES__DBT_API_URL": "http://dbt-api:80", "DATACOVES__API_ENDPOINT": "http://api"},
            "the platform's dbt API at http://dbt-api:80",
            "[datacoves] dbt_artifact_store='platform'",
        ),
        (
            "/srv/artifacts",
            {"DATACOVES__DBT_API_URL": "http://dbt-api:80"},
            "folder /srv/artifacts",
            "[datacoves] dbt_artifact_store='/srv/artifacts'",
        ),
        (
            "",
            {},
            "folder {home}/dbt_artifacts",
            "the default: no [datacoves] dbt_artifact_store setting, no DATACOVES__DBT_API_URL and no "
            "DATACOVES__API_ENDPOINT",
        ),
    ],
)
def test_store_selection_order_and_reason(monkeypatch, tmp_path, setting, env, description, reason):
    _isolate(monkeypatch, tmp_path, setting)
    monkeypatch.setenv("DATACOVES__PROJECT_SLUG", "p")
    monkeypatch.setenv("DATACOVES__ENVIRONMENT_SLUG", "e")
    monkeypatch.setenv("AIRFLOW_VAR_DATACOVES-DBT-API-SECRET", "dbt-api-secret-value-1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    choice = choose_artifact_store()
    assert choice.store.description.startswith(description.format(home=tmp_path))
    assert choice.reason == reason
    assert "dbt-api-secret-value-1" not in choice.store.description + choice.reason + repr(choice)


@pytest.mark.parametrize("marker", ["DATACOVES__AIRFLOW_TYPE", "DATACOVES__ENVIRONMENT_SLUG"])
def test_a_datacoves_worker_without_a_dbt_api_is_warned_loudly(monkeypatch, tmp_path, marker):
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv(marker, "team_airflow")
    choice = choose_artifact_store()
    assert isinstance(choice.store, LocalArtifactStore)
    assert choice.warning is not None
    assert choice.warning.startswith(
        f"dbt artifact store: this task runs on a Datacoves worker ({marker}='team_airflow') with "
        "dbt_api_enabled=True, but no dbt API is configured, so artifacts go to the folder "
        f"{tmp_path}/dbt_artifacts on this worker's own disk"
    )
    assert "Set DATACOVES__DBT_API_URL and the Airflow Variable 'datacoves-dbt-api-secret'" in choice.warning


def test_no_warning_off_the_platform(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path)
    assert choose_artifact_store().warning is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATACOVES__PROJECT_SLUG": "p", "DATACOVES__ENVIRONMENT_SLUG": "e"},
            "the dbt artifact store is 'platform', but DATACOVES__DBT_API_URL selects the platform's dbt API, "
            "but the Airflow Variable 'datacoves-dbt-api-secret' does not exist: create it",
        ),
        (
            {"AIRFLOW_VAR_DATACOVES-DBT-API-SECRET": "s3cret-value", "DATACOVES__ENVIRONMENT_SLUG": "e"},
            "DATACOVES__DBT_API_URL selects the platform's dbt API, but DATACOVES__PROJECT_SLUG is not set",
        ),
    ],
)
def test_platform_without_its_token_or_slugs_is_an_error(monkeypatch, tmp_path, env, message):
    """A worker that has the platform's URL but not the token Variable fails the task before dbt runs
    (never a silent fallback to a folder on the pod's disk)."""
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("DATACOVES__DBT_API_URL", "http://dbt-api:80")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ArtifactStoreConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        artifact_store_from_config()


def test_platform_setting_without_a_url_is_an_error(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path, "platform")
    with pytest.raises(
        ArtifactStoreConfigError, match="the platform's dbt API is not configured on this worker"
    ):
        artifact_store_from_config()


def test_platform_store_fetches_the_latest_manifest(platform_api_server, tmp_path):
    store = make_platform_store(platform_api_server, tmp_path)
    import requests

    out = tmp_path / "target" / "manifest.json"
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"metadata": {"dbt_version": "1.9.0"}, "nodes": {}, "macros": {"m": 1}}')
    before = [r for r in platform_api_server.requests() if r["path"].endswith("/manifests")]
    with manifest.open("rb") as handle:
        reply = requests.post(
            f"{platform_api_server.url}/api/internal/manifests",
            headers={"Authorization": f"Bearer {platform_api_server.manifest_token}"},
            data={"environment_slug": "e", "run_id": "r", "dag_id": "d"},
            files={"file": ("manifest.json", handle)},
            timeout=10,
        )
    assert reply.status_code == 201
    assert store.download_latest_manifest(out)
    assert out.read_text() == manifest.read_text()  # untrimmed, byte for byte
    records = platform_api_server.requests()
    latest = [r for r in records if r["path"].endswith("/latest-manifest")][-1]
    assert latest["query"] == {"trimmed": "false"} and latest["auth"] == "bearer:dbt_api"
    assert len([r for r in records if r["path"].endswith("/manifests")]) == len(before) + 1
