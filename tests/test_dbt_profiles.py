"""dbt profiles built from Airflow connections (no DAG run).

Each case builds an ``airflow.models.connection.Connection`` in-process, turns it into a target
and writes it with ``write_profile``. The written file must hold no secret, and dbt's own profile
loader (run in the dbt virtualenv, with the WrittenProfile's variables) must accept it and render
the connection's values.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.models.connection import Connection
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from datacoves_airflow_provider.dbt.profiles import (
    DbtProfileError,
    WrittenProfile,
    build_target,
    check_overrides,
    write_profile,
)

PASSWORD = "Pw-7f3a9c21-secret"
TOKEN = "dapi-0123456789abcdef-token"
PASSPHRASE = "Phrase-55b1e0d4-secret"
KEY_ID = "keyid-4c2e8a1f9b7d"


def _pem(passphrase: str | None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


PLAIN_PEM = _pem(None)
ENCRYPTED_PEM = _pem(PASSPHRASE)
KEYFILE = {
    "type": "service_account",
    "project_id": "gcp-project",
    "private_key_id": KEY_ID,
    "private_key": PLAIN_PEM,
    "client_email": "dbt@gcp-project.iam.gserviceaccount.com",
    "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token",
}
SNOWFLAKE_EXTRA = {"account": "acct", "database": "DEMO_DB", "warehouse": "WH", "role": "TRANSFORMER"}
SNOWFLAKE_FIELDS = {"account": "acct", "user": "sf_user", "database": "DEMO_DB", "schema": "ANALYTICS"}
DATABRICKS_EXTRA = {"http_path": "/sql/1.0/warehouses/abc123", "catalog": "main", "schema": "analytics"}


def conn(conn_id: str, conn_type: str, extra: dict[str, Any] | None = None, **fields: Any) -> Connection:
    return Connection(conn_id=conn_id, conn_type=conn_type, extra=json.dumps(extra or {}), **fields)


@dataclass
class Case:
    """A connection, the overrides applied to it, and what dbt must see."""

    conn: dict[str, Any]
    expected: dict[str, Any]  # fields of dbt's rendered credentials
    secrets: list[str] = field(default_factory=list)  # values that must stay out of profiles.yml
    overrides: dict[str, Any] | None = None
    threads: int = 4

    def connection(self, conn_id: str) -> Connection:
        return conn(conn_id, **self.conn)


def snowflake(extra: dict[str, Any], password: str | None = None) -> dict[str, Any]:
    return {
        "conn_type": "snowflake",
        "login": "sf_user",
        "password": password,
        "schema": "ANALYTICS",
        "extra": extra,
    }


def postgres(conn_type: str = "postgres", password: str = PASSWORD, **fields: Any) -> dict[str, Any]:
    base = {
        "host": "db.internal",
        "login": "pg_user",
        "schema": "warehouse",
        "extra": {"schema": "analytics"},
    }
    return {"conn_type": conn_type, "password": password, **base, **fields}


def redshift(**fields: Any) -> dict[str, Any]:
    return postgres("redshift", host="cluster1.abc.us-east-1.redshift.amazonaws.com", schema="dev", **fields)


def gcp(**extra: Any) -> dict[str, Any]:
    return {"conn_type": "google_cloud_platform", "extra": {"dataset": "analytics", **extra}}


def databricks(host: str, password: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "conn_type": "databricks",
        "host": host,
        "password": password,
        "extra": {**DATABRICKS_EXTRA, **extra},
    }


CASES: dict[str, Case] = {
    "snowflake-password": Case(
        snowflake(SNOWFLAKE_EXTRA, PASSWORD),
        {**SNOWFLAKE_FIELDS, "password": PASSWORD, "warehouse": "WH", "role": "TRANSFORMER"},
        [PASSWORD],
    ),
    "snowflake-key-pem": Case(
        snowflake({**SNOWFLAKE_EXTRA, "private_key_content": PLAIN_PEM}),
        {**SNOWFLAKE_FIELDS, "private_key": PLAIN_PEM, "password": None},
        [PLAIN_PEM],
    ),
    "snowflake-key-base64-pem": Case(
        snowflake({**SNOWFLAKE_EXTRA, "private_key_content": base64.b64encode(PLAIN_PEM.encode()).decode()}),
        {**SNOWFLAKE_FIELDS, "private_key": PLAIN_PEM},
        [PLAIN_PEM],
    ),
    "snowflake-key-encrypted": Case(
        snowflake({**SNOWFLAKE_EXTRA, "private_key_content": ENCRYPTED_PEM}, PASSPHRASE),
        {"private_key": ENCRYPTED_PEM, "private_key_passphrase": PASSPHRASE, "password": None},
        [ENCRYPTED_PEM, PASSPHRASE],
    ),
    "snowflake-key-one-line-paste": Case(  # the PEM pasted on one line, with literal "\n"s
        snowflake(
            {**SNOWFLAKE_EXTRA, "private_key_content": ENCRYPTED_PEM.strip().replace("\n", "\\n")}, PASSPHRASE
        ),
        {"private_key": ENCRYPTED_PEM, "private_key_passphrase": PASSPHRASE},
        [ENCRYPTED_PEM, PASSPHRASE],
    ),
    "snowflake-key-file": Case(
        snowflake({**SNOWFLAKE_EXTRA, "private_key_file": "/secrets/rsa_key.p8"}, PASSPHRASE),
        {"private_key_path": "/secrets/rsa_key.p8", "private_key_passphrase": PASSPHRASE, "password": None},
        [PASSPHRASE],
    ),
    "snowflake-region": Case(
        snowflake({**SNOWFLAKE_EXTRA, "region": "eu-west-1"}, PASSWORD),
        {"account": "acct.eu-west-1"},
        [PASSWORD],
    ),
    "snowflake-legacy-extras": Case(
        snowflake(
            {
                "extra__snowflake__account": "legacy",
                "extra__snowflake__region": "us-east-2.aws",
                "extra__snowflake__database": "DB2",
                "extra__snowflake__warehouse": "WH2",
            },
            PASSWORD,
        ),
        {"account": "legacy.us-east-2.aws", "database": "DB2", "warehouse": "WH2"},
        [PASSWORD],
    ),
    "snowflake-overrides": Case(
        snowflake({**SNOWFLAKE_EXTRA, "threads": 2}, PASSWORD),
        {"warehouse": "BIG_WH", "role": "ADMIN", "database": "DB2", "schema": "OTHER", "password": PASSWORD},
        [PASSWORD],
        overrides={
            "warehouse": "BIG_WH",
            "role": "ADMIN",
            "database": "DB2",
            "schema": "OTHER",
            "threads": "8",
        },
        threads=8,
    ),
    "redshift-password": Case(
        redshift(),
        {
            "host": "cluster1.abc.us-east-1.redshift.amazonaws.com",
            "port": 5439,
            "user": "pg_user",
            "password": PASSWORD,
            "database": "dev",
            "schema": "analytics",
            "method": "database",
        },
        [PASSWORD],
    ),
    "redshift-iam": Case(
        redshift(password=None, extra={"iam": True, "region": "us-east-1", "profile": "etl", "schema": "s"}),
        {
            "method": "iam",
            "cluster_id": "cluster1",
            "region": "us-east-1",
            "iam_profile": "etl",
            "password": None,
        },
    ),
    "postgres": Case(
        postgres(port=6543, extra={"schema": "analytics", "sslmode": "require"}),
        {
            "host": "db.internal",
            "port": 6543,
            "user": "pg_user",
            "password": PASSWORD,
            "database": "warehouse",
            "schema": "analytics",
            "sslmode": "require",
        },
        [PASSWORD],
    ),
    "postgresql": Case(postgres("postgresql"), {"port": 5432, "password": PASSWORD}, [PASSWORD]),
    "postgres-secret-override": Case(
        postgres(password="old-password"),
        {"password": PASSWORD},
        [PASSWORD],
        overrides={"password": PASSWORD},
    ),
    "postgres-literal-braces": Case(  # "{{" reaches dbt as text, not as Jinja to render
        postgres(password="pa{{ss}}word"),
        {"password": "pa{{ss}}word", "schema": "odd{{name}}"},
        ["pa{{ss}}word"],
        overrides={"schema": "odd{{name}}"},
    ),
    "bigquery-keyfile-json-string": Case(
        gcp(keyfile_dict=json.dumps(KEYFILE)),
        {
            "method": "service-account-json",
            "keyfile_json": KEYFILE,
            "database": "gcp-project",
            "schema": "analytics",
        },
        [PLAIN_PEM, KEY_ID],
    ),
    "bigquery-keyfile-dict-legacy": Case(
        gcp(
            extra__google_cloud_platform__keyfile_dict=KEYFILE, extra__google_cloud_platform__project="other"
        ),
        {"method": "service-account-json", "keyfile_json": KEYFILE, "database": "other"},
        [PLAIN_PEM, KEY_ID],
    ),
    "bigquery-key-path": Case(
        gcp(key_path="/secrets/sa.json", project="gcp-project"),
        {"method": "service-account", "keyfile": "/secrets/sa.json", "database": "gcp-project"},
    ),
    "bigquery-oauth": Case(gcp(project="gcp-project"), {"method": "oauth", "database": "gcp-project"}),
    "databricks-token-in-password": Case(
        databricks("https://adb-123.azuredatabricks.net/", TOKEN),
        {
            "host": "adb-123.azuredatabricks.net",
            "token": TOKEN,
            "http_path": "/sql/1.0/warehouses/abc123",
            "database": "main",
            "schema": "analytics",
        },
        [TOKEN],
    ),
    "databricks-token-in-extra": Case(
        databricks("adb-123.azuredatabricks.net", token=TOKEN),
        {"host": "adb-123.azuredatabricks.net", "token": TOKEN},
        [TOKEN],
    ),
    "postgres-unicode": Case(  # written as UTF-8: JSON's \ud83d escapes for an emoji break YAML
        postgres(
            password="Pw-é🚀-secret-1",
            login="usér🚀",
            extra={"schema": "analytics_é😀", "role": "r\u2028ôle\x85"},
        ),
        {
            "user": "usér🚀",
            "schema": "analytics_é😀",
            "role": "r\u2028ôle\x85",
            "password": "Pw-é🚀-secret-1",
        },
        ["Pw-é🚀-secret-1"],
    ),
    "duckdb-path": Case(
        {"conn_type": "duckdb", "host": "/data/warehouse.duckdb"},
        {"path": "/data/warehouse.duckdb", "schema": "main"},
    ),
    "duckdb-motherduck": Case(
        {"conn_type": "duckdb", "password": TOKEN, "schema": "my_db"},
        {"path": "md:my_db", "motherduck_token": TOKEN},
        [TOKEN],
    ),
}

# The loader of the dbt virtualenv: every case's profile, rendered and validated as dbt does.
DBT_LOADER = r"""
import json, os, sys
from argparse import Namespace
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

set_from_args(Namespace(), None)
results = {}
for name, case in json.load(sys.stdin).items():
    set_invocation_context({**os.environ, **case["env"]})  # env_var() reads the invocation context
    try:
        out = {}
        for profile_name, raw in read_profile(case["folder"]).items():
            for target in raw["outputs"]:
                p = Profile.from_raw_profile_info(
                    raw, profile_name, renderer=ProfileRenderer({}), target_override=target
                )
                p.validate()
                getattr(p.credentials, "validate_creds", lambda: None)()
                creds = p.credentials
                if creds.type == "snowflake" and creds.private_key:
                    creds._get_private_key()  # dbt-snowflake decrypts the key (with the passphrase)
                written = set(type(creds).translate_aliases(raw["outputs"][target]))
                out[f"{profile_name}.{target}"] = {
                    "type": creds.type,
                    "threads": p.threads,
                    "credentials": creds.to_dict(omit_none=False),
                    # fields dbt would silently drop: a misspelt or unsupported profile key
                    "ignored": sorted(written - set(creds.to_dict(omit_none=False)) - {"type", "threads"}),
                }
        results[name] = out
    except Exception as exc:
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
json.dump(results, sys.stdout, default=str)
"""


def profile_text(written: WrittenProfile) -> str:
    return (written.folder / "profiles.yml").read_text()


def secret_parts(secret: str) -> list[str]:
    """The secret and each of its lines, as a log or a file could show them (PEM headers are not secret)."""
    lines = [line.strip() for line in secret.splitlines() if not line.startswith("-----")]
    return [secret, *(line for line in lines if len(line) >= 8)]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, WrittenProfile]:
    root = tmp_path_factory.mktemp("profiles")
    return {
        name: write_profile(
            build_target(case.connection(name.replace("-", "_")), case.overrides),
            folder=root / name / "profile",
            profile_names=["default", "demo"],
            target_name="dev",
        )
        for name, case in CASES.items()
    }


@pytest.fixture(scope="module")
def loaded_by_dbt(written, dbt_venv) -> dict[str, Any]:
    """What dbt's loader made of every written profile, in one dbt-virtualenv process."""
    cases = {name: {"folder": str(w.folder), "env": w.env} for name, w in written.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    proc = subprocess.run(
        [str(dbt_venv / "bin" / "python"), "-c", DBT_LOADER],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env={**env, "DO_NOT_TRACK": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", CASES)
def test_profile_file_holds_no_secret(name, written):
    profile = written[name]
    text = profile_text(profile)
    secret_values = {v for k, v in profile.env.items() if k.startswith("DBT_ENV_SECRET_DATACOVES_")}
    for secret in CASES[name].secrets:
        for part in secret_parts(secret):
            assert part not in text, f"{part[:20]!r}... is in profiles.yml"
        assert secret in secret_values  # it travels in the dbt process's environment instead
    for variable, value in profile.env.items():
        assert "{{ env_var('" + variable + "') }}" in text
        assert value not in text
    assert stat.S_IMODE((profile.folder / "profiles.yml").stat().st_mode) == 0o600
    assert stat.S_IMODE(profile.folder.stat().st_mode) == 0o700


def test_dbt_loads_every_profile_with_the_connection_values(written, loaded_by_dbt, subtests):
    # one test, so that only one xdist worker pays for importing every dbt adapter
    for name, case in CASES.items():
        with subtests.test(name):
            result = loaded_by_dbt[name]
            assert "error" not in result, result.get("error")
            assert set(result) == {"default.dev", "demo.dev"}
            loaded = result["default.dev"]
            assert loaded["type"] == written[name].adapter_type
            assert loaded["ignored"] == []
            assert loaded["threads"] == case.threads
            assert {key: loaded["credentials"].get(key) for key in case.expected} == case.expected
            assert result["demo.dev"] == loaded


def test_secret_names_follow_the_field_path(written):
    assert set(written["snowflake-key-encrypted"].env) == {
        "DBT_ENV_SECRET_DATACOVES_PRIVATE_KEY",
        "DBT_ENV_SECRET_DATACOVES_PRIVATE_KEY_PASSPHRASE",
    }
    assert set(written["bigquery-keyfile-json-string"].env) == {
        "DBT_ENV_SECRET_DATACOVES_KEYFILE_JSON_PRIVATE_KEY",
        "DBT_ENV_SECRET_DATACOVES_KEYFILE_JSON_PRIVATE_KEY_ID",
    }
    # not a secret, but dbt would render its "{{": it goes through a plain variable
    assert written["postgres-literal-braces"].env["DATACOVES_DBT_SCHEMA"] == "odd{{name}}"


def test_profile_is_utf8_with_characters_as_they_are(written):
    raw = (written["postgres-unicode"].folder / "profiles.yml").read_bytes()
    assert "usér🚀".encode() in raw and b"\\ud83d" not in raw
    assert b"\\u2028" in raw and b"\\u0085" in raw  # a YAML reader would take these as line breaks


def test_repr_of_a_written_profile_hides_its_secrets(written):
    profile = written["postgres"]
    assert profile.env["DBT_ENV_SECRET_DATACOVES_PASSWORD"] == PASSWORD
    for text in (repr(profile), str(profile), f"{profile!r}", repr([profile])):
        assert PASSWORD not in text
        assert "'DBT_ENV_SECRET_DATACOVES_PASSWORD': '***'" in text and "adapter_type='postgres'" in text
    key = written["snowflake-key-encrypted"]
    assert all(
        part not in repr(key) for secret in (ENCRYPTED_PEM, PASSPHRASE) for part in secret_parts(secret)
    )


def test_repr_of_connection_fields_hides_the_extras():
    from datacoves_airflow_provider.dbt.profiles import ConnectionFields as _Fields

    fields = _Fields(CASES["bigquery-keyfile-json-string"].connection("gcp"), "google_cloud_platform")
    assert KEY_ID not in repr(fields) and "extras=<hidden>" in repr(fields)


def test_overrides_are_applied_last():
    case = CASES["snowflake-overrides"]
    target = build_target(case.connection("sf"), case.overrides)
    assert target["type"] == "snowflake"
    assert {k: target[k] for k in case.overrides} == {**case.overrides, "threads": 8}
    assert target["account"] == "acct"  # the rest is the connection's


# -- connections that cannot become a profile --------------------------------------------------------


UNUSABLE = {
    "unknown-type": (
        conn("http_conn", "http", host="example.com"),
        "Connection 'http_conn' has type 'http', which cannot be turned into a dbt profile",
    ),
    "missing-field": (
        conn("sf_no_db", "snowflake", {"account": "a"}, login="u", password="unused-pw-1", schema="S"),
        "Connection 'sf_no_db' (snowflake): dbt needs 'database' for snowflake, and the connection has none: "
        "set its extra 'database'",
    ),
    "missing-host": (
        conn("pg_no_host", "postgres", {"schema": "s"}, login="u", password="unused-pw-1", schema="db"),
        "Connection 'pg_no_host' (postgres): dbt needs 'host' for postgres",
    ),
    "two-keys": (
        conn(
            "sf_two_keys",
            **snowflake({**SNOWFLAKE_EXTRA, "private_key_content": PLAIN_PEM, "private_key_file": "/k.p8"}),
        ),
        "Connection 'sf_two_keys' (snowflake): has both private_key_content and private_key_file",
    ),
    "no-credentials": (
        conn("sf_no_auth", **snowflake(SNOWFLAKE_EXTRA)),
        "Connection 'sf_no_auth' (snowflake): no credentials for dbt: set a Password",
    ),
    "bad-keyfile-json": (
        conn("gcp_bad_key", **gcp(keyfile_dict="{not json")),
        "Connection 'gcp_bad_key' (google_cloud_platform): extra keyfile_dict is not valid JSON",
    ),
}


@pytest.mark.parametrize(("connection", "message"), UNUSABLE.values(), ids=UNUSABLE)
def test_unusable_connection_is_a_clear_error(connection, message):
    with pytest.raises(DbtProfileError) as raised:
        build_target(connection)
    assert message in str(raised.value)


# -- overrides as written in a DAG ----------------------------------------------------------------


POSITIVE_INT = "overrides['threads'] must be a positive whole number"
REJECTED = {
    "not-a-dict": ("big_wh", TypeError, "overrides must be a dict of dbt profile fields"),
    "list": (["warehouse"], TypeError, "overrides must be a dict of dbt profile fields"),
    "none-value": ({"warehouse": None}, ValueError, "overrides['warehouse'] is None"),
    "set-value": ({"warehouse": {"a"}}, TypeError, "overrides['warehouse'] is a set"),
    "object-value": ({"query_tag": object()}, TypeError, "overrides['query_tag'] is a object"),
    "list-for-warehouse": (
        {"warehouse": ["a", "b"]},
        TypeError,
        "overrides['warehouse'] must be a single value",
    ),
    "threads-0": ({"threads": 0}, ValueError, POSITIVE_INT),
    "threads-x": ({"threads": "x"}, ValueError, POSITIVE_INT),
    "threads-true": ({"threads": True}, ValueError, POSITIVE_INT),
    "type": ({"type": "postgres"}, ValueError, "overrides cannot change the adapter 'type'"),
    "secret-list": (
        {"password": [PASSWORD]},
        TypeError,
        "overrides['password'] must be a single value, got list (value not shown: a secret field)",
    ),
    "secret-set": (
        {"keyfile_json": {"private_key": {PASSWORD}}},
        TypeError,
        "overrides['keyfile_json']['private_key'] is a set (value not shown: a secret field)",
    ),
}


@pytest.mark.parametrize(("overrides", "error", "message"), REJECTED.values(), ids=REJECTED)
def test_check_overrides_rejects(overrides, error, message):
    with pytest.raises(error) as raised:
        check_overrides(overrides, task_id="build")
    assert str(raised.value).startswith(f"Task 'build': {message}"), str(raised.value)


@pytest.mark.parametrize("overrides", REJECTED)
def test_check_overrides_never_quotes_a_secret(overrides):
    with pytest.raises((TypeError, ValueError)) as raised:
        check_overrides(REJECTED[overrides][0], task_id="build")
    assert PASSWORD not in str(raised.value)


def test_overrides_text_that_is_not_a_dict_is_not_quoted():
    from datacoves_airflow_provider.dbt.profiles import parse_overrides_text

    assert parse_overrides_text(' {"threads": 2} ') == {"threads": 2}
    assert parse_overrides_text("{'threads': 2}") == {"threads": 2}  # a dict's repr
    assert parse_overrides_text("  ") is None
    with pytest.raises(DbtProfileError) as raised:
        parse_overrides_text(f"password={PASSWORD}")
    assert str(raised.value).startswith("overrides rendered to text (27 characters, not shown")
    assert PASSWORD not in str(raised.value)
    for text in (f"{{['{PASSWORD}']: 1}}", "[" * 100_000):  # unhashable key; nested too deep
        with pytest.raises(DbtProfileError) as raised:
            parse_overrides_text(text)
        assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    "overrides",
    [
        None,
        "{{ params.overrides }}",
        {"warehouse": "{{ params.x }}", "threads": "{{ params.threads }}"},
        {"threads": 8, "role": "r", "port": 5439, "insecure_mode": False},
        {"threads": "8"},
        {"session_properties": {"query_tag": "dbt", "tags": ["a", 1, True, {"nested": 1.5}]}},
    ],
)
def test_check_overrides_accepts(overrides):
    check_overrides(overrides, task_id="build")


# -- Airflow's secrets masker ---------------------------------------------------------------------


def test_secrets_are_given_to_the_masker(tmp_path):
    """write_profile registers each secret, and each line of a key, with the masker of this process.

    The secrets come in through ``overrides``: on Airflow 2, ``Connection()`` itself masks its
    password, so a password from the connection would be masked whatever write_profile did.
    """
    from datacoves_airflow_provider.compat import redact

    password, passphrase = "Fresh-" + os.urandom(8).hex(), "Phrase-" + os.urandom(8).hex()
    key = _pem(passphrase)
    key_line = key.splitlines()[3]
    assert {redact(password), redact(passphrase), redact(key_line)} == {password, passphrase, key_line}
    for overrides, folder in (
        ({"password": password}, "pw"),
        ({"private_key": key, "private_key_passphrase": passphrase}, "key"),
    ):
        target = build_target(CASES["snowflake-password"].connection("sf"), overrides)
        write_profile(target, folder=tmp_path / folder, profile_names=["default"], target_name="dev")
    for secret in (password, passphrase, key_line):
        assert redact(secret) == "***"
        assert redact(f"dbt said: {secret}!") == "dbt said: ***!"


def test_secret_fields_of_overrides_are_given_to_the_masker():
    """What the dbt operator does with ``overrides`` as soon as they are rendered."""
    from datacoves_airflow_provider.compat import redact
    from datacoves_airflow_provider.dbt.profiles import mask_secret_fields

    password, token, schema = ("Fresh-" + os.urandom(8).hex() for _ in range(3))
    mask_secret_fields({"password": password, "keyfile_json": {"refresh_token": token}, "schema": schema})
    assert (redact(password), redact(token), redact(schema)) == ("***", "***", schema)
