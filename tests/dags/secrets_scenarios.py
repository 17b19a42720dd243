"""Secrets read inside real task runs (tests only): variables through @task.datacoves_bash as the
docs do, connections through BaseHook in a Python task. Each task writes a SHA-256 of what it got
into $EVIDENCE, so the test can check the values without them ever being printed."""

from __future__ import annotations

import hashlib
import os
import shlex

from airflow.decorators import dag, task
from pendulum import datetime

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def secrets_in_tasks():
    for name in ("datacoves-mayras_secret", "aws_my_secret", "plain_var"):

        @task.datacoves_bash(task_id=f"variable_{name.replace('-', '_')}")
        def read_variable(name: str = name) -> str:
            from airflow.models import Variable

            value = Variable.get(name)
            # the value is printed (the log must show ***) and its digest kept as evidence
            return f"echo {shlex.quote('value: ' + value)} && echo {_digest(value)} > {EVIDENCE}/{name}"

        read_variable()

    for conn_id in ("datacoves-warehouse", "aws_warehouse"):

        @task(task_id=f"connection_{conn_id.replace('-', '_')}")
        def read_connection(conn_id: str = conn_id) -> None:
            from datacoves_airflow_provider.compat import BaseHook

            conn = BaseHook.get_connection(conn_id)
            print(f"password: {conn.password}")  # must print as ***
            with open(f"{EVIDENCE}/{conn_id}", "w") as fh:
                fh.write(_digest(f"{conn.host}|{conn.login}|{conn.password}"))

        read_connection()


secrets_in_tasks()
