"""DatacovesSecretsBackend in-process: lookup order, requests counted per store, formats, scopes,
the outage policy, the cache and masking. AWS Secrets Manager is moto's server behind a counting
proxy; the Datacoves secrets API is the reference server; both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import tracemalloc
from pathlib import Path

import pytest
from harness.airflow_env import run_dag
from harness.network import free_port
from harness.paths import DEMO_REPO
from harness.secrets_stores import (
    ENVIRONMENT,
    PEM,
    PEM2,
    PROJECT,
    aws_kwargs,
    secrets_requests,
)
from harness.unruly_http_server import unruly_server

from datacoves_airflow_provider.compat import SecretsLookupRefused, redact
from datacoves_airflow_provider.http.datacoves_api import DatacovesApiSettings
from datacoves_airflow_provider.secrets.api_client import (
    DatacovesSecret,
    DatacovesSecretsClient,
    DatacovesSecretsError,
)
from datacoves_airflow_provider.secrets.datacoves import DatacovesSecretsBackend


def make_backend(aws, api, **kwargs) -> DatacovesSecretsBackend:
    return DatacovesSecretsBackend(
        aws_secrets_manager=aws_kwargs(aws) if aws is not None else None,
        api_endpoint=api.url,
        api_token=api.token,
        account="acme",
        project=PROJECT,
        environment=ENVIRONMENT,
        **kwargs,
    )


def backend_on(url: str, token: str = "unruly-token-9314") -> DatacovesSecretsBackend:
    """The backend on the Datacoves secrets API at ``url`` alone (account ``a``, project ``p``,
    environment ``e``)."""
    return DatacovesSecretsBackend(
        api_endpoint=url, api_token=token, account="a", project="p", environment="e"
    )


def refusal(backend: DatacovesSecretsBackend, name: str) -> str:
    """The message with which ``backend`` refuses to look up the variable ``name``."""
    with pytest.raises(SecretsLookupRefused) as info:
        backend.get_variable(name)
    return str(info.value)


def test_lookup_order_and_no_needless_requests(aws, datacoves_api):
    backend = make_backend(aws, datacoves_api)
    aws.calls.clear()
    before = len(secrets_requests(datacoves_api))

    def counts():
        return len(aws.calls), len(secrets_requests(datacoves_api)) - before

    assert backend.get_variable("aws_my_secret") == "aws-value-9137"
    assert counts() == (1, 0)  # AWS answered; Datacoves never asked (no datacoves- prefix)
    assert backend.get_variable("datacoves-mayras_secret") == "dc-value-4821"
    assert counts() == (1, 1)  # not ^aws_: no AWS call
    assert backend.get_variable("plain_var") is None
    assert counts() == (1, 1)  # neither store is asked; Airflow's env vars / metastore come next
    assert backend.get_variable("aws_missing") is None
    assert counts() == (2, 1)
    assert backend.get_variable("datacoves-missing") is None
    assert counts() == (2, 2)
    assert aws.calls == [
        "GetSecretValue airflow/variables/aws_my_secret",
        "GetSecretValue airflow/variables/aws_missing",
    ]


def test_aws_comes_first_when_both_stores_may_answer(aws, datacoves_api):
    backend = DatacovesSecretsBackend(
        aws_secrets_manager=aws_kwargs(aws, pattern="^(aws_|datacoves-)"),
        api_endpoint=datacoves_api.url,
        api_token=datacoves_api.token,
        account="acme",
        project=PROJECT,
        environment=ENVIRONMENT,
    )
    before = len(secrets_requests(datacoves_api))
    assert backend.get_variable("datacoves-both") == "from-aws"
    assert len(secrets_requests(datacoves_api)) == before


def test_formats_and_connections(aws, datacoves_api):
    backend = make_backend(aws, datacoves_api)
    assert json.loads(backend.get_variable("datacoves-settings")) == {"threads": 8, "tags": ["a", "b"]}
    conn = backend.get_connection("datacoves-warehouse")
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.schema) == (
        "postgres",
        "db.internal",
        "loader",
        "dc-conn-pass-77",
        "raw",
    )
    conn = backend.get_connection("aws_warehouse")
    assert (conn.host, conn.password) == ("aws-db", "aws-conn-pass-55")
    assert backend.get_connection("plain_conn") is None


def test_scopes_and_sharing(datacoves_api):
    backend = make_backend(None, datacoves_api)
    assert backend.get_variable("datacoves-scoped") == "environment-level"  # environment wins
    assert backend.get_variable("datacoves-shared") == "project-level"
    assert backend.get_variable("datacoves-private") is None  # not shared with stack services


def test_values_are_registered_with_the_masker(aws, datacoves_api):
    backend = make_backend(aws, datacoves_api)
    backend.get_variable("aws_my_secret")
    backend.get_connection("datacoves-warehouse")
    text = "aws-value-9137 and dc-conn-pass-77"
    assert redact(text) == "*** and ***"


def test_cache(datacoves_api):
    cached = make_backend(None, datacoves_api, cache_ttl_seconds=60)
    uncached = make_backend(None, datacoves_api)
    for backend, expected in ((cached, 1), (uncached, 2)):
        before = secrets_requests(datacoves_api).count("datacoves-mayras_secret")
        for _ in range(2):
            assert backend.get_variable("datacoves-mayras_secret") == "dc-value-4821"
        assert secrets_requests(datacoves_api).count("datacoves-mayras_secret") - before == expected


def test_an_outage_refuses_datacoves_names_and_nothing_else():
    backend = backend_on(f"http://127.0.0.1:{free_port()}", token="tok-never-shown-31")
    message = refusal(backend, "datacoves-mayras_secret")
    assert "lives in the Datacoves secrets manager, which could not be read" in message
    assert "tok-never-shown-31" not in message
    assert backend.get_variable("plain_var") is None  # other names are not this store's business


def test_a_wrong_token_refuses(datacoves_api):
    backend = DatacovesSecretsBackend(
        api_endpoint=datacoves_api.url,
        api_token="wrong-token-xyz",
        account="a",
        project=PROJECT,
        environment=ENVIRONMENT,
    )
    with pytest.raises(SecretsLookupRefused, match="401"):
        backend.get_variable("datacoves-mayras_secret")


def test_missing_configuration_is_named(monkeypatch):
    for name in ("DATACOVES__API_ENDPOINT", "DATACOVES__API_TOKEN", "DATACOVES__SECRETS_API_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    backend = DatacovesSecretsBackend(account="a", project="p", environment="e")
    with pytest.raises(SecretsLookupRefused, match="set DATACOVES__API_ENDPOINT, DATACOVES__API_TOKEN"):
        backend.get_variable("datacoves-x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aws_secrets_manager": "^aws_"}, "aws_secrets_manager must be an object"),
        (
            {"aws_secrets_manager": {"variables_lookup_pattern": "(unclosed"}},
            "aws_secrets_manager.variables_lookup_pattern='\\(unclosed' is not a regex",
        ),
        ({"cache_ttl_seconds": -1}, "cache_ttl_seconds must be a number >= 0"),
        ({"datacoves_prefix": ""}, "datacoves_prefix must be a non-empty string"),
    ],
)
def test_bad_backend_kwargs_are_named(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=r"\[secrets\] backend_kwargs: " + message):
        DatacovesSecretsBackend(**kwargs)


# -- masking: every leaf, every line (issue 16, 5a and 5b) ----------------------------------------


def test_every_leaf_of_a_datacoves_secret_is_masked_whatever_its_key(datacoves_api):
    backend = make_backend(None, datacoves_api)
    backend.get_variable("datacoves-api_creds")
    backend.get_variable("datacoves-nested")
    backend.get_connection("datacoves-odd_conn")
    assert redact("pw-value-5521 / tok-value-8830") == "*** / ***"
    assert redact("nested-leaf-4417 and 90817") == "*** and ***"
    assert redact("odd-host-3391 extra-tok-6602") == "*** ***"
    # too short to be secret (Airflow's own minimum, checked on both lines): logs stay readable
    assert redact("region eu, n 1234, threads 8, name main") == "region eu, n 1234, threads 8, name main"


def test_each_line_of_a_multiline_secret_is_masked(datacoves_api):
    backend = make_backend(None, datacoves_api)
    assert backend.get_variable("datacoves-pem") == PEM
    backend.get_variable("datacoves-pem_in_pairs")
    for line in (*PEM.splitlines(), *PEM2.splitlines()):
        assert redact(f"line: {line}") == "line: ***", line
    assert "pemline" not in redact(json.dumps({"xcom": PEM.splitlines()[1:3]}))


def test_repr_and_str_never_show_secret_values():
    secret = DatacovesSecret(slug="datacoves-x", scope="project", format="key_value", value="val-shown-7731")
    settings = DatacovesApiSettings("http://127.0.0.1:1", "tok-shown-6610", "a", "p", "e")
    client = DatacovesSecretsClient(settings)
    for obj in (secret, settings, client):
        for text in (repr(obj), str(obj)):
            assert "val-shown-7731" not in text and "tok-shown-6610" not in text, text
    assert "datacoves-x" in repr(secret) and "token='***'" in repr(settings) and "***" in repr(client)


@pytest.mark.slow
def test_parts_of_secrets_stay_masked_in_a_real_run(airflow_home, datacoves_api, tmp_path):
    """A leaf, a PEM line and a connection's extra value, echoed by bash tasks (their XComs) and
    rendered into template fields, under ``airflow dags test`` with this backend configured."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(Path(__file__).parent / "dags" / "secrets_masking_scenarios.py", dags)
    env = {
        "AIRFLOW__SECRETS__BACKEND": "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": "{}",
        "DATACOVES__REPO_PATH": str(DEMO_REPO),
        **datacoves_api.env(DATACOVES__PROJECT_SLUG=PROJECT, DATACOVES__ENVIRONMENT_SLUG=ENVIRONMENT),
    }
    result = run_dag(airflow_home, dags, "secrets_masking", **env)
    assert result.states == dict.fromkeys(("leaves", "pem_line", "rendered"), "success"), result.output[
        -5000:
    ]
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        stored = [
            row
            for table in ("xcom", "rendered_task_instance_fields")
            for row in db.execute(f"select * from {table} where dag_id = 'secrets_masking'").fetchall()
        ]
    assert len(stored) >= 4, stored  # the XComs and rendered fields of the three tasks
    # (the console of `airflow dags test` is not checked: on Airflow 3, which runs the tasks in its
    # own process there, it prints task output unmasked; task logs are checked in test_secrets_runs.py)
    everything = "\n".join(
        v.decode(errors="replace") if isinstance(v, bytes) else str(v) for row in stored for v in row
    )
    planted = ["pw-value-5521", "tok-value-8830", "extra-tok-6602", *PEM.splitlines()[1:3]]
    assert not [value for value in planted if value in everything], everything
    assert '"apitok=***"' in everything  # the XCom of the leaves task (its echo, masked)


# -- deny means deny (issue 16, 7) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint", ["nested", "http://[::1"], ids=["deeply-nested-json", "unreadable-endpoint"]
)
def test_any_failure_for_a_datacoves_name_is_a_refusal(endpoint):
    with unruly_server() as server:
        url = f"{server.url}/nested/100000" if endpoint == "nested" else endpoint
        message = refusal(backend_on(url, token="tok-never-shown-32"), "datacoves-mayras_secret")
    assert "variable 'datacoves-mayras_secret' lives in the Datacoves secrets manager" in message
    assert ("nested too deeply" if endpoint == "nested" else "cannot be read as a URL") in message
    assert "tok-never-shown-32" not in message


# -- bounded calls (issue 16, 6) ------------------------------------------------------------------


def test_a_retry_after_beyond_the_budget_ends_the_lookup_at_once():
    with unruly_server() as server:
        started = time.monotonic()
        with pytest.raises(SecretsLookupRefused, match=r"asked to be retried later \(Retry-After: 99999\)"):
            backend_on(f"{server.url}/retry-after/99999").get_variable("datacoves-x")
        assert time.monotonic() - started < 5
        assert server.requests["retry-after/99999"] == 1


def test_a_huge_secrets_reply_is_refused_without_holding_it():
    with unruly_server() as server:
        tracemalloc.start()
        try:
            with pytest.raises(
                SecretsLookupRefused, match="larger than 10 MiB, the most this provider reads"
            ):
                backend_on(f"{server.url}/huge-unannounced/100").get_variable("datacoves-x")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while refusing a 100 MiB reply"


def test_a_trickling_secrets_reply_ends_at_the_deadline():
    """One byte every 2 s never trips the 3 s read timeout; the 3 s budget (timeout 3, no retry) does."""
    with unruly_server() as server:
        settings = DatacovesApiSettings(f"{server.url}/trickle/2", "t", "a", "p", "e")
        started = time.monotonic()
        with pytest.raises(DatacovesSecretsError, match="did not answer within this call's 3 s budget"):
            DatacovesSecretsClient(settings, timeout=3, retries=0).get_secret("datacoves-x")
        assert 2.5 < time.monotonic() - started < 8
