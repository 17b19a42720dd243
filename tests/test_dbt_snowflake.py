"""@task.datacoves_dbt running real dbt-snowflake against fakesnow's server, through ``airflow dags test``.

fakesnow (in the dbt virtualenv) speaks Snowflake's HTTP protocol on a local port and keeps the
data in an in-memory DuckDB. Its login accepts any credentials, so a wrong password would pass;
but dbt-snowflake decrypts a private key on the client before it connects, so a wrong passphrase
still fails, and that is what the key-pair tasks exercise.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness.airflow_env import run_dag
from harness.dbt import dbt_env

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"
PASSWORD = "Sf-Password-0b7e41d2"
PASSPHRASE = "Key-Passphrase-93c5fa10"
WRONG_PASSPHRASE = "Wrong-Passphrase-5d21e8"


def encrypted_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(PASSPHRASE.encode())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return pem.decode()


def snowflake_conn(port: int, password: str, **extra: str) -> str:
    return json.dumps(
        {
            "conn_type": "snowflake",
            "login": "dbt_user",
            "password": password,
            "schema": "ANALYTICS",
            "extra": {
                "account": "fakesnow",
                "database": "DEMO_DB",
                "warehouse": "WH",
                "role": "ROLE",
                "host": "127.0.0.1",
                "port": port,
                "protocol": "http",
                **extra,
            },
        }
    )


def count_rows(dbt_venv: Path, port: int, table: str) -> int:
    code = (
        "import sys, snowflake.connector\n"
        "con = snowflake.connector.connect(user='dbt_user', password='any', account='fakesnow', "
        "host='127.0.0.1', port=int(sys.argv[1]), protocol='http', database='DEMO_DB')\n"
        "print(con.cursor().execute(f'select count(*) from {sys.argv[2]}').fetchone()[0])\n"
    )
    proc = subprocess.run(
        [str(dbt_venv / "bin" / "python"), "-c", code, str(port), table],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(proc.stdout.strip())


def profile(evidence: Path, name: str) -> tuple[str, dict]:
    path = evidence / f"{name}_profiles.yml"
    assert path.exists(), f"task did not write {path.name}"
    text = path.read_text()
    return text, json.loads(text.split("\n", 1)[1])  # after the header comment, the profile is JSON


def test_dbt_on_snowflake(airflow_home, demo_repo, dbt_venv, fakesnow, tmp_path, subtests):
    # one test, so that the DAG runs once even when xdist spreads this module over workers
    key = encrypted_key()
    key_content = base64.b64encode(key.encode()).decode()
    key_lines = [line for line in key.splitlines() if not line.startswith("-----")]
    result = run_dag(
        airflow_home,
        DAGS,
        "dbt_snowflake",
        EVIDENCE=str(tmp_path),
        DATACOVES__REPO_PATH=str(demo_repo),
        AIRFLOW_CONN_SNOWFLAKE_PASSWORD=snowflake_conn(fakesnow.port, PASSWORD),
        AIRFLOW_CONN_SNOWFLAKE_KEY_PAIR=snowflake_conn(
            fakesnow.port, PASSPHRASE, private_key_content=key_content
        ),
        AIRFLOW_CONN_SNOWFLAKE_WRONG_PASSPHRASE=snowflake_conn(
            fakesnow.port, WRONG_PASSPHRASE, private_key_content=key_content
        ),
        **dbt_env(dbt_venv),
    )
    server_log = fakesnow.log.read_text()

    with subtests.test("task states"):
        assert result.states == {
            "build": "success",
            "key_pair": "success",
            "with_overrides": "success",
            "wrong_passphrase": "failed",
        }, result.output[-8000:]

    with subtests.test("dbt built the models in fakesnow"):
        assert count_rows(dbt_venv, fakesnow.port, "ANALYTICS.customer_orders") == 4

    with subtests.test("the key is decrypted by dbt with the connection's passphrase"):
        assert "Incorrect password, could not decrypt key" in result.output  # wrong_passphrase

    with subtests.test("no secret in the profiles or the task logs"):
        # `airflow dags test` prints task logs unmasked on both lines, so this shows that neither dbt
        # nor the operator prints a secret; test_dbt_profiles.py checks that the masker gets them
        secrets = [PASSWORD, PASSPHRASE, WRONG_PASSPHRASE, key_content[:40], *key_lines]
        for name in ("password", "key_pair", "overrides"):
            text, _ = profile(tmp_path, name)
            assert not [s for s in secrets if s in text], name
            assert "{{ env_var('DBT_ENV_SECRET_DATACOVES_" in text
        assert not [s for s in secrets if s in result.output]

    with subtests.test("profiles: password, key pair"):
        password_output = profile(tmp_path, "password")[1]["default"]["outputs"]["default"]
        assert password_output["password"] == "{{ env_var('DBT_ENV_SECRET_DATACOVES_PASSWORD') }}"
        assert (password_output["account"], password_output["port"]) == ("fakesnow", fakesnow.port)
        key_output = profile(tmp_path, "key_pair")[1]["default"]["outputs"]["default"]
        assert {k: v for k, v in key_output.items() if k.startswith(("private_key", "password"))} == {
            "private_key": "{{ env_var('DBT_ENV_SECRET_DATACOVES_PRIVATE_KEY') }}",
            "private_key_passphrase": "{{ env_var('DBT_ENV_SECRET_DATACOVES_PRIVATE_KEY_PASSPHRASE') }}",
        }

    with subtests.test("overrides and target shape the profile and reach Snowflake's login"):
        overridden = profile(tmp_path, "overrides")[1]["default"]
        assert overridden["target"] == "prd"
        output = overridden["outputs"]["prd"]
        assert {k: output[k] for k in ("warehouse", "role", "database")} == {
            "warehouse": "OTHER_WH",
            "role": "OTHER_ROLE",
            "database": "DEMO_DB",  # the rest is the connection's
        }
        # fakesnow's access log shows each login's query string: dbt logged in with the overrides
        assert "warehouse=OTHER_WH&roleName=OTHER_ROLE" in server_log
        assert "warehouse=WH&roleName=ROLE" in server_log
