"""The secrets-leak audit, on the CeleryExecutor deployment (both Airflow lines).

Recognisable fake secrets are planted where production keeps them: a Snowflake password and a PEM
private key with its passphrase in connections of the metadata database (Fernet-encrypted, as in
production), a Teams webhook URL in the ``MS_TEAMS`` connection, a variable, a dbt API token, a value
in the Datacoves secrets manager (reference API server) and one in AWS Secrets Manager (moto's server)
read with an AWS secret access key. Every example DAG that uses them runs (dbt on fakesnow's server
with a password and with the key pair, the Teams notifications, both secrets managers, the Airflow
database sync into Snowflake), plus ``leak_audit_extras`` (artifact uploads with the token; a task that
puts a secret variable and password into its command).

Then the audit reads: every file under the deployment's home (task logs, component logs, the
workers' temp dirs), every column of every table of the metadata database, which holds the XComs,
the rendered template fields and the Celery result backend's tables, and every file the dbt API
stored. Zero hits is the only pass. A positive control then plants the secrets in each kind of place
and the same search must find every one.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import psycopg2
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness.api_server import running_datacoves_api_server
from harness.celery_cluster import celery_cluster
from harness.dbt import dbt_env
from harness.paths import DEMO_REPO, ROOT
from harness.warehouses import PG_DSN
from harness.webhook_recorder import webhook_recorder

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"
TAG = uuid.uuid4().hex[:10]
SNOWFLAKE_PASSWORD = f"SfPassword-{TAG}-audit"
KEY_PASSPHRASE = f"KeyPassphrase-{TAG}-audit"
API_TOKEN = f"dbt-api-token-{TAG}-audit"
TEAMS_SIG = f"teamssig{TAG}audit"
DATACOVES_VALUE = f"dc-secret-value-{TAG}-audit"
AWS_SECRET_KEY = f"AwsSecretKey{TAG}audit/Plus"
AWS_VALUE = f"aws-secret-value-{TAG}-audit"
VARIABLE_VALUE = f"variable-api-key-{TAG}-audit"
#: the leaves of a multiple_key_value Datacoves secret, under keys the masker does not call sensitive
MULTI_PW = f"mkvpw{TAG}audit"
MULTI_TOKEN = f"mkvtok{TAG}audit"
#: a multi-line Datacoves secret (each line is a needle)
MULTILINE = f"-----BEGIN AUDIT KEY-----\nfirstline{TAG}audit\nsecondline{TAG}audit\n-----END AUDIT KEY-----"
#: a password in dbt overrides rendered from a variable whose name says nothing
OVERRIDE_PASSWORD = f"OverridePassword-{TAG}-audit"
PROJECT, ENVIRONMENT = "analytics", "env123"

EXAMPLES = {
    "run_dbt_dag.py": "my_sample_dag",
    "key_pair_dag.py": "dbt_dag",
    "ms_teams_notifications_dag.py": "dbt_run_ms_teams",
    "datacoves_secrets_dag.py": "datacoves_secrets_example",
    "aws_secrets_dag.py": "aws_secrets_example",
    "airflow_db_sync_dag.py": "airflow_data_sync",
}


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(KEY_PASSPHRASE.encode())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def needles(secrets: dict[str, str]) -> dict[str, bytes]:
    """What to look for: each secret, and for multi-line ones (the PEM) each line of its body."""
    found: dict[str, bytes] = {}
    for name, value in secrets.items():
        lines = [line for line in value.splitlines() if line and not line.startswith("-----")]
        if len(lines) > 1:
            for i, line in enumerate(lines):
                found[f"{name} line {i + 1}"] = line.encode()
        else:
            found[name] = value.encode()
    return found


def as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def search_files(roots: Iterable[Path], wanted: dict[str, bytes]) -> list[str]:
    hits = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                hits += [f"{name} in file {path}" for name, needle in wanted.items() if needle in data]
    return hits


def search_database(database: str, wanted: dict[str, bytes]) -> tuple[list[str], dict[str, int]]:
    """Every column of every row of every table (bytea compared as raw bytes, JSON as text)."""
    hits, rows_read = [], {}
    with contextlib.closing(psycopg2.connect(f"{PG_DSN} dbname={database}")) as db:
        cur = db.cursor()
        cur.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'"
        )
        for schema, table in cur.fetchall():
            cur.execute(f'select * from "{schema}"."{table}"')
            columns = [c.name for c in cur.description]
            rows = cur.fetchall()
            rows_read[table] = len(rows)
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    data = as_bytes(value)
                    hits += [f"{name} in {table}.{column}" for name, n in wanted.items() if n in data]
    return hits, rows_read


@pytest.fixture
def audit_secrets():
    pem = private_key_pem()
    return pem, {
        "snowflake password": SNOWFLAKE_PASSWORD,
        "private key passphrase": KEY_PASSPHRASE,
        "PEM private key": pem,
        "dbt API token": API_TOKEN,
        "Teams webhook signature": TEAMS_SIG,
        "Datacoves secret value": DATACOVES_VALUE,
        "AWS secret access key": AWS_SECRET_KEY,
        "AWS secret value": AWS_VALUE,
        "secret variable": VARIABLE_VALUE,
        "multiple_key_value leaf pw": MULTI_PW,
        "multiple_key_value leaf apitok": MULTI_TOKEN,
        "multi-line secret": MULTILINE,
        "dbt overrides password": OVERRIDE_PASSWORD,
    }


def test_no_planted_secret_is_left_anywhere(tmp_path, dbt_venv, fakesnow, moto_server, audit_secrets):
    import boto3

    pem, secrets = audit_secrets
    wanted = needles(secrets)
    dags = tmp_path / "dags"
    dags.mkdir()
    for example in EXAMPLES:
        shutil.copy(ROOT / "example_dags" / example, dags)
    shutil.copy(DAGS / "leak_audit_scenarios.py", dags)

    secrets_file = tmp_path / "datacoves_secrets.json"
    secrets_file.write_text(
        json.dumps(
            [
                {
                    "slug": "datacoves-mayras_secret",
                    "format": "key_value",
                    "value": DATACOVES_VALUE,
                    "project": PROJECT,
                    "environment": ENVIRONMENT,
                },
                {
                    "slug": "datacoves-audit-multi",
                    "format": "multiple_key_value",
                    "value": {"pw": MULTI_PW, "apitok": MULTI_TOKEN},
                    "project": PROJECT,
                    "environment": ENVIRONMENT,
                },
                {
                    "slug": "datacoves-audit-multiline",
                    "format": "key_value",
                    "value": MULTILINE,
                    "project": PROJECT,
                    "environment": ENVIRONMENT,
                },
            ]
        )
    )
    aws = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="AKIAAUDIT",
        aws_secret_access_key=AWS_SECRET_KEY,
    )
    aws.create_secret(Name="airflow/variables/aws_my_secret", SecretString=AWS_VALUE)
    backend_kwargs = {
        "aws_secrets_manager": {
            "variables_lookup_pattern": "^aws_",
            "connections_lookup_pattern": "^aws_",
            "region_name": "us-east-1",
            "endpoint_url": moto_server,
            "aws_access_key_id": "AKIAAUDIT",
            "aws_secret_access_key": AWS_SECRET_KEY,
        },
        "cache_ttl_seconds": 0,
    }
    snowflake_extra = {
        "account": "fakesnow",
        "database": "DEMO_DB",
        "warehouse": "WH",
        "role": "ROLE",
        "host": "127.0.0.1",
        "port": fakesnow.port,
        "protocol": "http",
        "network_timeout": 60,
    }
    home = tmp_path / "airflow"
    api_data = tmp_path / "dbt_api" / "data"
    api_data.parent.mkdir()
    with (
        webhook_recorder() as recorder,
        running_datacoves_api_server(api_data, "--secrets-file", str(secrets_file), token=API_TOKEN) as api,
    ):
        connections = {
            "main": {
                "conn_type": "snowflake",
                "login": "dbt_user",
                "password": SNOWFLAKE_PASSWORD,
                "schema": "ANALYTICS",
                "extra": snowflake_extra,
            },
            "main_key_pair": {
                "conn_type": "snowflake",
                "login": "dbt_user",
                "password": KEY_PASSPHRASE,
                "schema": "ANALYTICS",
                "extra": {**snowflake_extra, "private_key_content": pem},
            },
            "MS_TEAMS": {  # in extra, which Airflow encrypts (host is stored as it is)
                "conn_type": "http",
                "extra": {
                    "webhook_url": f"{recorder.url}/workflows/audit/triggers/manual/paths/invoke"
                    f"?api-version=1&sig={TEAMS_SIG}"
                },
            },
        }
        env = {
            **dbt_env(dbt_venv),
            **api.env(DATACOVES__PROJECT_SLUG=PROJECT, DATACOVES__ENVIRONMENT_SLUG=ENVIRONMENT),
            "DATACOVES__REPO_PATH": str(DEMO_REPO),
            "DATACOVES__DBT_HOME": str(DEMO_REPO / "transform"),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__SECRETS__BACKEND": "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(backend_kwargs),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        }
        with celery_cluster(home, dags, **env) as cluster:
            # stored like production stores them: in the database, encrypted, through a file that is
            # removed afterwards (`connections add` would record its arguments in the log table)
            imports = tmp_path / "imports"
            imports.mkdir()
            # the Airflow database for the sync (Airflow 3 hides its own URL from tasks)
            connections["airflow_db"] = {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": cluster.database,
            }
            (imports / "connections.json").write_text(json.dumps(connections))
            (imports / "variables.json").write_text(
                json.dumps(
                    {
                        "audit_api_key": VARIABLE_VALUE,
                        "dbt_overrides": json.dumps({"password": OVERRIDE_PASSWORD}),
                    }
                )
            )
            cluster.cli("connections", "import", str(imports / "connections.json"))
            cluster.cli("variables", "import", str(imports / "variables.json"))
            shutil.rmtree(imports)

            dag_ids = [*EXAMPLES.values(), "leak_audit_extras", "leak_audit_masking", "leak_audit_alert"]
            # dbt_run_ms_teams runs `dbt run -s personal_loans`, which reads the customer_orders table
            # that my_sample_dag's `dbt build -s +personal_loans` makes: it starts once that has finished
            runs = {dag_id: cluster.trigger(dag_id) for dag_id in dag_ids if dag_id != "dbt_run_ms_teams"}
            states = {
                "my_sample_dag": cluster.wait_for_run("my_sample_dag", runs["my_sample_dag"], timeout=600)
            }
            runs["dbt_run_ms_teams"] = cluster.trigger("dbt_run_ms_teams")
            states |= {
                dag_id: cluster.wait_for_run(dag_id, run_id, timeout=600)
                for dag_id, run_id in runs.items()
                if dag_id not in states
            }
            tries = {dag_id: cluster.task_tries(dag_id, run_id) for dag_id, run_id in runs.items()}
            expected = {dag_id: "success" for dag_id in dag_ids} | {"leak_audit_alert": "failed"}
            assert states == expected, f"{states}\n{tries}\n{cluster.logs()}"

            def posted(marker: bytes) -> bool:
                return any(marker in request.body for request in recorder.snapshot())

            deadline = time.monotonic() + 90  # the DAG success callback posts after the run
            while (
                not (posted(b"dbt_run_ms_teams") and posted(b"audit alert")) and time.monotonic() < deadline
            ):
                time.sleep(1)
            assert posted(b"dbt_run_ms_teams"), "the Teams notifier never posted"
            assert posted(b"audit alert"), "the failure alert quoting the exception never posted"
            logs = {
                (dag_id, task_id): cluster.task_log(dag_id, run_id, task_id, 1)
                for dag_id, run_id in runs.items()
                for task_id in tries[dag_id]
            }
            # the secrets were used, and show masked where the DAG prints them
            assert "My variable is: ***" in logs[("datacoves_secrets_example", "calling_vars_in_decorator")]
            assert "My variable is: ***" in logs[("aws_secrets_example", "calling_vars_in_decorator")]
            assert "Uploaded" in logs[("leak_audit_extras", "dbt_with_artifacts")]
            assert any("manifest.json" in str(f) for f in api_data.rglob("content"))

            # the audit: files, database (XComs, rendered fields, Celery results, everything else)
            in_files = search_files([home], wanted)
            in_db, rows_read = search_database(cluster.database, wanted)
            in_store = search_files([api_data], {k: v for k, v in wanted.items() if k != "dbt API token"})
            # what left the deployment: the bodies of the alerts (their URL holds the signature by design)
            in_alerts = [
                f"{name} in the alert posted to {request.path.split('?')[0]}"
                for request in recorder.snapshot()
                for name, needle in wanted.items()
                if needle in request.body
            ]
            result_tables = {t for t in rows_read if t.startswith("celery_")}
            assert "celery_taskmeta" in result_tables and rows_read["celery_taskmeta"] > 0, rows_read
            assert rows_read["xcom"] > 0 and rows_read["rendered_task_instance_fields"] > 0, rows_read
            log_files = [p for p in (home / "logs").rglob("*.log")]
            assert len(log_files) >= len(logs), log_files
            print(
                f"leak audit: {len(wanted)} needles; {len(list(home.rglob('*')))} paths under the home, "
                f"{sum(rows_read.values())} rows in {len(rows_read)} tables, {len(list(api_data.rglob('*')))}"
                " files in the artifact store"
            )
            assert in_files + in_db + in_store + in_alerts == [], "secrets found:\n" + "\n".join(
                in_files + in_db + in_store + in_alerts
            )

            # positive control: the same search finds each secret in each kind of place
            control = {name: needle for name, needle in wanted.items() if not name.startswith("PEM")}
            control["PEM private key line 5"] = wanted["PEM private key line 5"]
            worker_tmp = cluster.workers["worker_b"].tmpdir
            task_log = next(iter(log_files))
            with task_log.open("ab") as fh:
                fh.write(b"\n" + control["snowflake password"] + b"\n")
            (worker_tmp / "left-behind.txt").write_bytes(control["AWS secret access key"])
            (worker_tmp / "profiles.yml").write_text(pem)
            with contextlib.closing(psycopg2.connect(f"{PG_DSN} dbname={cluster.database}")) as db, db:
                db.cursor().execute("create table xcom_leak_control (pickled bytea, doc jsonb)")
                db.cursor().execute(
                    "insert into xcom_leak_control values (%s, %s)",
                    (
                        psycopg2.Binary(b"\x80\x04" + control["dbt API token"]),
                        json.dumps({"url": f"https://x/?sig={TEAMS_SIG}"}),
                    ),
                )
            found_files = search_files([home], wanted)
            found_db, _ = search_database(cluster.database, wanted)
    assert f"snowflake password in file {task_log}" in found_files
    assert f"AWS secret access key in file {worker_tmp / 'left-behind.txt'}" in found_files
    assert f"PEM private key line 5 in file {worker_tmp / 'profiles.yml'}" in found_files
    assert "dbt API token in xcom_leak_control.pickled" in found_db
    assert "Teams webhook signature in xcom_leak_control.doc" in found_db
