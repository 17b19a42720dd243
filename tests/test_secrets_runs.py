"""DatacovesSecretsBackend configured through [secrets] in a real deployment: scheduler with
LocalExecutor on PostgreSQL (plus api-server and dag-processor on Airflow 3), tasks reading
variables and connections while they run. AWS is moto's server behind the counting proxy; the
Datacoves API is the reference server. Checks what each task got (digests), how many requests each
store saw, and that no value appears in task logs or rendered templates."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from harness.airflow_cluster import airflow_cluster
from harness.paths import DEMO_REPO, ROOT
from harness.secrets_stores import aws_kwargs, secrets_requests

pytestmark = pytest.mark.slow  # every test here starts Airflow

DAGS = Path(__file__).parent / "dags"
DAG_ID = "secrets_in_tasks"
#: Values our backend served. (plain_var comes from AIRFLOW_VAR_PLAIN_VAR: Airflow masks such a
#: variable only when its name is sensitive, so the log may show it, as it would without us.)
SECRET_VALUES = [
    "dc-value-4821",
    "aws-value-9137",
    "dc-conn-pass-77",
    "aws-conn-pass-55",
]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_secrets_in_real_task_runs(tmp_path, aws, datacoves_api):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "secrets_scenarios.py", dags)
    for example in ("datacoves_secrets_dag.py", "aws_secrets_dag.py"):
        shutil.copy(ROOT / "example_dags" / example, dags)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    kwargs = {"aws_secrets_manager": aws_kwargs(aws), "cache_ttl_seconds": 0}
    env = {
        "AIRFLOW__SECRETS__BACKEND": "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
        "AIRFLOW_VAR_PLAIN_VAR": "plain-env-value-6620",
        "DATACOVES__REPO_PATH": str(DEMO_REPO),
        "EVIDENCE": str(evidence),
        **datacoves_api.env(DATACOVES__PROJECT_SLUG="analytics", DATACOVES__ENVIRONMENT_SLUG="env123"),
    }
    aws.calls.clear()
    with airflow_cluster(tmp_path / "airflow", dags, **env) as cluster:
        before = len(secrets_requests(datacoves_api))
        runs = {
            dag_id: cluster.trigger(dag_id)
            for dag_id in (DAG_ID, "datacoves_secrets_example", "aws_secrets_example")
        }
        for dag_id, run_id in runs.items():
            assert cluster.wait_for_run(dag_id, run_id) == "success", (
                f"{dag_id}: {cluster.task_tries(dag_id, run_id)}\n{cluster.logs()}"
            )
        logs = {
            (dag_id, task_id): cluster.task_log(dag_id, run_id, task_id, 1)
            for dag_id, run_id in runs.items()
            for task_id in cluster.task_tries(dag_id, run_id)
        }
        rendered = json.dumps(
            cluster.sql("select dag_id, task_id, rendered_fields::text from rendered_task_instance_fields")
        )
        requested = secrets_requests(datacoves_api)[before:]

    # every task got the right value
    assert (evidence / "datacoves-mayras_secret").read_text().strip() == digest("dc-value-4821")
    assert (evidence / "aws_my_secret").read_text().strip() == digest("aws-value-9137")
    assert (evidence / "plain_var").read_text().strip() == digest("plain-env-value-6620")
    assert (evidence / "datacoves-warehouse").read_text() == digest("db.internal|loader|dc-conn-pass-77")
    assert (evidence / "aws_warehouse").read_text() == digest("aws-db|u|aws-conn-pass-55")
    # the docs' examples printed their (masked) values
    assert "My variable is: ***" in logs[("datacoves_secrets_example", "calling_vars_in_decorator")]
    assert "My variable is: ***" in logs[("aws_secrets_example", "calling_vars_in_decorator")]
    assert "value: ***" in logs[(DAG_ID, "variable_datacoves_mayras_secret")]
    assert "password: ***" in logs[(DAG_ID, "connection_datacoves_warehouse")]

    # no value in any task log or rendered template
    everything = "\n".join(logs.values()) + rendered
    leaked = [value for value in SECRET_VALUES if value in everything]
    assert not leaked, f"secret values leaked: {leaked}"
    assert datacoves_api.token not in everything

    # each store was asked only for its own names
    assert requested and set(requested) <= {"datacoves-mayras_secret", "datacoves-warehouse"}, requested
    names = {call.split(" ", 1)[1] for call in aws.calls}
    assert names and names <= {"airflow/variables/aws_my_secret", "airflow/connections/aws_warehouse"}, names
