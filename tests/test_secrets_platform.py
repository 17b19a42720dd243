"""DatacovesSecretsBackend on a Datacoves platform worker: no backend_kwargs, the platform's
variables only (PLATFORM.md section 2). The platform's secrets route is the reference server's
``/api/v1/secrets/<env>``, over real HTTP on 127.0.0.1; the secondary backend is the amazon
provider's SecretsManagerBackend against moto's server (behind the counting proxy of
test_secrets_backend); a real DAG run uses ``airflow dags test``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from harness.airflow_env import airflow_env, run_dag
from harness.api_server import running_datacoves_api_server
from harness.network import free_port
from harness.paths import AIRFLOW_BIN
from harness.secrets_stores import aws_kwargs

from datacoves_airflow_provider.compat import AIRFLOW_V_3_0_PLUS, SecretsLookupRefused, redact
from datacoves_airflow_provider.secrets.datacoves import DatacovesSecretsBackend

ENVIRONMENT = "env123"
PLATFORM_TOKEN = "platform-token-5517"
PRIMARY_ENV = "AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET"
SECONDARY_ENV = "AIRFLOW_VAR_DATACOVES-SECONDARY-SECRET"
SECRETS_MANAGER = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
SECRETS = [
    {
        "slug": "datacoves-plain",
        "value": "plat-value-3311",
        "project": "analytics",
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-json_var",
        "value": {"threads": 4, "key": "json-leaf-7781"},
        "project": "analytics",
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-uri_conn",
        "value": "postgres://loader:uri-pass-5521@db.internal:5432/raw",
        "project": "analytics",
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-object_conn",
        "value": {
            "conn_type": "http",
            "host": "obj-host.internal",
            "login": "svc",
            "password": "obj-pass-8812",
            "extra_dejson": {"apitok": "obj-extra-9931"},
        },
        "project": "analytics",
        "environment": ENVIRONMENT,
    },
    {"slug": "datacoves-scoped", "value": "project-level", "project": "analytics"},
    {"slug": "datacoves-scoped", "value": "env-level", "project": "analytics", "environment": ENVIRONMENT},
    {"slug": "datacoves-other_env", "value": "not-mine", "project": "analytics", "environment": "env999"},
    {"slug": "datacoves-both", "value": "from-datacoves", "project": "analytics", "environment": ENVIRONMENT},
    # the platform's token variables, stored here too: the backend must never ask for them
    *(
        {"slug": name, "value": "never-asked-4410", "project": "analytics", "environment": ENVIRONMENT}
        for name in ("datacoves-primary-secret", "datacoves-secondary-secret", "datacoves-dbt-api-secret")
    ),
]
for _entry in SECRETS:  # the v3 route needs a format; the platform's route ignores it
    _entry["format"] = "key_value" if isinstance(_entry["value"], str) else "json"
SECRET_VALUES = ("plat-value-3311", "json-leaf-7781", "uri-pass-5521", "obj-pass-8812", "obj-extra-9931")


@pytest.fixture(scope="module")
def platform_api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform_secrets_api")
    (folder / "secrets.json").write_text(json.dumps(SECRETS))
    with running_datacoves_api_server(
        folder / "data",
        "--secrets-file",
        str(folder / "secrets.json"),
        "--secrets-token",
        PLATFORM_TOKEN,
    ) as server:
        yield server


def endpoint(api) -> str:
    return f"{api.url}/api/v1/secrets/{ENVIRONMENT}"


def platform_requests(api) -> list[str]:
    """The slugs asked of the platform's secrets route, in order."""
    return [
        r["query"].get("slug", "") for r in api.requests() if r["path"].startswith("/api/v1/")
    ]


@pytest.fixture
def worker(monkeypatch, platform_api):
    """A platform worker's secrets settings: DATACOVES__SECRETS_API_ENDPOINT and the token variable."""
    for name in list(os.environ):
        if name.startswith(("DATACOVES__", "AIRFLOW_VAR_DATACOVES")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATACOVES__SECRETS_API_ENDPOINT", endpoint(platform_api))
    monkeypatch.setenv(PRIMARY_ENV, PLATFORM_TOKEN)
    return monkeypatch


class Counter:
    def __init__(self, api) -> None:
        self.api = api
        self.start = len(platform_requests(api))

    def asked(self) -> list[str]:
        return platform_requests(self.api)[self.start :]


def test_variables_string_and_json(worker, platform_api):
    backend = DatacovesSecretsBackend()
    counter = Counter(platform_api)
    assert backend.get_variable("datacoves-plain") == "plat-value-3311"
    assert json.loads(backend.get_variable("datacoves-json_var")) == {"threads": 4, "key": "json-leaf-7781"}
    assert backend.get_variable("datacoves-scoped") == "env-level"  # the environment's wins
    assert backend.get_variable("datacoves-other_env") is None  # another environment's secret
    assert counter.asked() == [
        "datacoves-plain",
        "datacoves-json_var",
        "datacoves-scoped",
        "datacoves-other_env",
    ]
    assert redact("plat-value-3311 json-leaf-7781") == "*** ***"
    assert redact(f"token {PLATFORM_TOKEN}") == "token ***"


def test_connections_uri_and_object_with_extra_dejson(worker, platform_api):
    backend = DatacovesSecretsBackend()
    uri = backend.get_connection("datacoves-uri_conn")
    assert (uri.conn_type, uri.host, uri.login, uri.password, uri.port, uri.schema) == (
        "postgres",
        "db.internal",
        "loader",
        "uri-pass-5521",
        5432,
        "raw",
    )
    obj = backend.get_connection("datacoves-object_conn")
    assert (obj.conn_type, obj.host, obj.login, obj.password) == (
        "http",
        "obj-host.internal",
        "svc",
        "obj-pass-8812",
    )
    assert obj.extra_dejson == {"apitok": "obj-extra-9931"}
    assert redact("uri-pass-5521 obj-extra-9931") == "*** ***"


def test_not_found_and_names_that_cost_no_call(worker, platform_api):
    backend = DatacovesSecretsBackend()
    counter = Counter(platform_api)
    assert backend.get_variable("datacoves-missing") is None  # the API answered []
    assert backend.get_connection("datacoves-missing_conn") is None
    assert backend.get_variable("plain_var") is None  # not a datacoves- name
    assert backend.get_connection("warehouse") is None
    assert counter.asked() == ["datacoves-missing", "datacoves-missing_conn"]


def test_the_platform_token_variables_are_never_asked(worker, platform_api):
    backend = DatacovesSecretsBackend()
    counter = Counter(platform_api)
    for name in ("datacoves-primary-secret", "datacoves-secondary-secret", "datacoves-dbt-api-secret"):
        assert backend.get_variable(name) is None, name  # Airflow's env vars / metastore answer them
        assert backend.get_connection(name) is None, name
    assert backend.get_variable("datacoves-plain") == "plat-value-3311"  # the token came from the env var
    assert counter.asked() == ["datacoves-plain"]


def test_backend_kwargs_override_the_platform_dialect(worker, platform_api):
    backend = DatacovesSecretsBackend(
        api_endpoint=platform_api.url,
        api_token=platform_api.token,
        account="acme",
        project="analytics",
        environment=ENVIRONMENT,
    )
    counter = Counter(platform_api)
    before = len(platform_api.requests())
    assert backend.get_variable("datacoves-plain") == "plat-value-3311"
    assert counter.asked() == []
    assert [r["path"] for r in platform_api.requests()[before:]] == [
        f"/api/v3/accounts/acme/projects/analytics/environments/{ENVIRONMENT}/secrets/datacoves-plain"
    ]


def test_the_cache_fetches_each_secret_once_per_period(worker, platform_api):
    cached = DatacovesSecretsBackend(cache_ttl_seconds=60)
    uncached = DatacovesSecretsBackend()
    for backend, expected in ((cached, 1), (uncached, 3)):
        counter = Counter(platform_api)
        for _ in range(3):
            assert backend.get_variable("datacoves-plain") == "plat-value-3311"
        assert counter.asked() == ["datacoves-plain"] * expected


def test_a_wrong_token_refuses_without_showing_it(worker, platform_api):
    worker.setenv(PRIMARY_ENV, "wrong-platform-token-77")
    with pytest.raises(SecretsLookupRefused) as info:
        DatacovesSecretsBackend().get_variable("datacoves-plain")
    message = str(info.value)
    assert "answered 401 Unauthorized (the token in the Airflow variable datacoves-primary-secret" in message
    assert "wrong-platform-token-77" not in message


def test_an_outage_refuses_datacoves_names_and_nothing_else(worker):
    worker.setenv("DATACOVES__SECRETS_API_ENDPOINT", f"http://127.0.0.1:{free_port()}/api/v1/secrets/e")
    backend = DatacovesSecretsBackend()
    with pytest.raises(SecretsLookupRefused) as info:
        backend.get_variable("datacoves-plain")
    assert "lives in the Datacoves secrets manager, which could not be read" in str(info.value)
    assert PLATFORM_TOKEN not in str(info.value)
    if AIRFLOW_V_3_0_PLUS:  # Airflow's authoritative deny: the search stops there
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

        assert isinstance(info.value, AirflowSecretsBackendAccessDenied)
    assert backend.get_variable("plain_var") is None


def test_the_reference_route_takes_only_its_token(platform_api):
    url = endpoint(platform_api)
    assert requests.get(url, params={"slug": "datacoves-plain"}, timeout=10).status_code == 401
    for header in (f"Bearer {PLATFORM_TOKEN}", f"token {platform_api.token}"):
        reply = requests.get(
            url, params={"slug": "datacoves-plain"}, headers={"Authorization": header}, timeout=10
        )
        assert reply.status_code == 401, header
    reply = requests.get(
        url,
        params={"slug": "datacoves-plain"},
        headers={"Authorization": f"token {PLATFORM_TOKEN}"},
        timeout=10,
    )
    assert reply.json() == [{"slug": "datacoves-plain", "value": "plat-value-3311"}]


# -- the secondary backend (datacoves-secondary-secret) -------------------------------------------


def secondary(proxy, pattern: str = "^(aws_|datacoves-)") -> str:
    return json.dumps({"backend": SECRETS_MANAGER, "backend_config": aws_kwargs(proxy, pattern=pattern)})


def test_the_secondary_backend_is_asked_first(worker, platform_api, aws):
    worker.setenv(SECONDARY_ENV, secondary(aws))
    backend = DatacovesSecretsBackend()
    aws.calls.clear()
    counter = Counter(platform_api)
    assert backend.get_variable("datacoves-both") == "from-aws"  # in both stores: the secondary wins
    assert (aws.calls, counter.asked()) == (["GetSecretValue airflow/variables/datacoves-both"], [])
    assert backend.get_variable("aws_my_secret") == "aws-value-9137"
    assert backend.get_variable("datacoves-plain") == "plat-value-3311"  # not in AWS: Datacoves next
    assert backend.get_connection("aws_warehouse").password == "aws-conn-pass-55"
    assert backend.get_variable("plain_var") is None  # matches no pattern: no call anywhere
    assert aws.calls == [
        "GetSecretValue airflow/variables/datacoves-both",
        "GetSecretValue airflow/variables/aws_my_secret",
        "GetSecretValue airflow/variables/datacoves-plain",
        "GetSecretValue airflow/connections/aws_warehouse",
    ]
    assert counter.asked() == ["datacoves-plain"]
    # the platform's token variables are asked of no store, the secondary included
    assert backend.get_variable("datacoves-secondary-secret") is None
    assert len(aws.calls) == 4


def test_aws_secrets_manager_in_backend_kwargs_wins_over_the_secondary(worker, platform_api, aws):
    worker.setenv(SECONDARY_ENV, '{"backend": "no.such.Backend"}')  # never read: no error
    backend = DatacovesSecretsBackend(aws_secrets_manager=aws_kwargs(aws, pattern="^aws_"))
    aws.calls.clear()
    counter = Counter(platform_api)
    assert backend.get_variable("aws_my_secret") == "aws-value-9137"
    assert backend.get_variable("datacoves-both") == "from-datacoves"  # ^aws_ only: the platform answers
    assert (aws.calls, counter.asked()) == (
        ["GetSecretValue airflow/variables/aws_my_secret"],
        ["datacoves-both"],
    )


def test_an_unusable_secondary_refuses_every_name_and_is_named(worker, platform_api):
    worker.setenv(SECONDARY_ENV, json.dumps({"backend": SECRETS_MANAGER + "X", "backend_config": {}}))
    backend = DatacovesSecretsBackend()
    counter = Counter(platform_api)
    for name in ("datacoves-plain", "plain_var"):
        with pytest.raises(SecretsLookupRefused, match="the Airflow variable datacoves-secondary-secret"):
            backend.get_variable(name)
    assert counter.asked() == []
    worker.delenv(SECONDARY_ENV)  # fixed: the next lookup reads it again
    assert backend.get_variable("datacoves-plain") == "plat-value-3311"


# -- a real run: `airflow dags test` on a platform worker -----------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("token_in", "backend_kwargs", "plain_fetches"),
    [("environment", None, 3), ("metastore", {"cache_ttl_seconds": 300}, 1)],
    ids=["token-in-env-no-backend-kwargs", "token-in-metastore-cached"],
)
def test_a_task_reads_platform_secrets(
    airflow_home, platform_api, tmp_path, token_in, backend_kwargs, plain_fetches
):
    """``[secrets] backend`` is our class with no backend_kwargs (or only a cache period),
    DATACOVES__SECRETS_API_ENDPOINT points at the reference server, and the token is
    AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET (set through the environment dict: a shell cannot export a
    name with hyphens) or the metastore's variable datacoves-primary-secret."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(Path(__file__).parent / "dags" / "platform_secrets_scenarios.py", dags)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    env = {
        "AIRFLOW__SECRETS__BACKEND": "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
        "DATACOVES__SECRETS_API_ENDPOINT": endpoint(platform_api),
        "EVIDENCE": str(evidence),
    }
    if backend_kwargs is not None:
        env["AIRFLOW__SECRETS__BACKEND_KWARGS"] = json.dumps(backend_kwargs)
    variables = [AIRFLOW_BIN, "variables"]
    if token_in == "environment":
        env[PRIMARY_ENV] = PLATFORM_TOKEN
    else:
        subprocess.run(
            [*variables, "set", "datacoves-primary-secret", PLATFORM_TOKEN],
            env=airflow_env(airflow_home, dags),
            check=True,
            capture_output=True,
        )
    counter = Counter(platform_api)
    try:
        result = run_dag(airflow_home, dags, "platform_secrets", **env)
    finally:
        if token_in == "metastore":
            subprocess.run(
                [*variables, "delete", "datacoves-primary-secret"],
                env=airflow_env(airflow_home, dags),
                capture_output=True,
            )
    tasks = ("read_variables", "read_connections", "read_again")
    assert result.states == dict.fromkeys(tasks, "success"), result.output[-5000:]
    assert (evidence / "datacoves-plain").read_text() == digest("plat-value-3311|plat-value-3311")
    assert (evidence / "datacoves-plain-again").read_text() == digest("plat-value-3311")
    assert (evidence / "datacoves-json_var").read_text() == digest('{"key": "json-leaf-7781", "threads": 4}')
    assert (evidence / "datacoves-uri_conn").read_text() == digest(
        "postgres|db.internal|loader|uri-pass-5521|5432"
    )
    assert (evidence / "datacoves-object_conn").read_text() == digest(
        "obj-host.internal|svc|obj-pass-8812|obj-extra-9931"
    )
    asked = counter.asked()
    assert sorted(set(asked)) == [
        "datacoves-json_var",
        "datacoves-object_conn",
        "datacoves-plain",
        "datacoves-uri_conn",
    ], asked
    assert asked.count("datacoves-plain") == plain_fetches, asked
    for name in ("datacoves-json_var", "datacoves-object_conn", "datacoves-uri_conn"):
        assert asked.count(name) == 1, asked
    # (task logs are not checked here: `airflow dags test` on Airflow 3 writes none; the real-scheduler
    # runs of test_secrets_runs.py and the leak audit check logs)
