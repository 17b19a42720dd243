"""Parts of Datacoves secrets shown on their own in real task runs (tests only): a leaf of a
multiple key-value secret whose keys are not "sensitive" names, one line of a PEM key, and a
connection's extra value, each echoed by @task.datacoves_bash (so it reaches the log and the XCom)
or rendered into a template field. The test checks that none of them appears anywhere."""

from __future__ import annotations

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.operators.bash import DatacovesBashOperator


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def secrets_masking():
    @task.datacoves_bash
    def leaves() -> str:
        import json

        from airflow.models import Variable

        creds = json.loads(Variable.get("datacoves-api_creds"))
        return f"echo pw={creds['pw']} && echo apitok={creds['apitok']}"  # the last line is the XCom

    @task.datacoves_bash
    def pem_line() -> str:
        from airflow.models import Variable

        return f"echo {Variable.get('datacoves-pem').splitlines()[2]}"

    rendered = DatacovesBashOperator(
        task_id="rendered",
        bash_command="echo {{ conn['datacoves-odd_conn'].extra_dejson['apitok'] }} {{ var.value['datacoves-pem'].splitlines()[1] }}",
    )
    leaves() >> pem_line() >> rendered


secrets_masking()
