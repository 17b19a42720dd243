"""Secrets read inside real task runs on a platform worker (tests only): the backend has no
backend_kwargs but the platform's variables. Each task writes a SHA-256 of what it got into
$EVIDENCE, so the test checks the values without them ever being printed."""

from __future__ import annotations

import hashlib
import json
import os

from airflow.decorators import dag, task
from pendulum import datetime

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write(name: str, text: str) -> None:
    with open(f"{EVIDENCE}/{name}", "w") as fh:
        fh.write(_digest(text))


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def platform_secrets():
    @task
    def read_variables() -> None:
        from airflow.models import Variable

        first = Variable.get("datacoves-plain")
        second = Variable.get("datacoves-plain")  # a second read: served by the cache when it is on
        print(f"value: {first}")  # must print as ***
        _write("datacoves-plain", f"{first}|{second}")
        settings = Variable.get("datacoves-json_var", deserialize_json=True)
        _write("datacoves-json_var", json.dumps(settings, sort_keys=True))

    @task
    def read_connections() -> None:
        from datacoves_airflow_provider.compat import BaseHook

        uri = BaseHook.get_connection("datacoves-uri_conn")
        _write("datacoves-uri_conn", f"{uri.conn_type}|{uri.host}|{uri.login}|{uri.password}|{uri.port}")
        obj = BaseHook.get_connection("datacoves-object_conn")
        print(f"password: {obj.password}")  # must print as ***
        _write("datacoves-object_conn", f"{obj.host}|{obj.login}|{obj.password}|{obj.extra_dejson['apitok']}")

    @task
    def read_again() -> None:
        from airflow.models import Variable

        _write("datacoves-plain-again", Variable.get("datacoves-plain"))

    read_variables() >> read_connections() >> read_again()


platform_secrets()
