"""DAGs for the data-sync tests (tests only).

``populate_metadata`` fills a fresh metadata database the way real runs do (a retried task, XComs,
a mapped task); ``db_sync_<db_type>`` syncs it into the ``warehouse`` connection.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime

TRIES_FILE = os.environ.get("TRIES_FILE", "/nonexistent")


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"])
def populate_metadata():
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def fails_once() -> dict:
        with open(TRIES_FILE, "a") as fh:
            fh.write("try\n")
        with open(TRIES_FILE) as fh:
            if len(fh.readlines()) == 1:
                raise RuntimeError("first try fails, so task_instance_history (and task_fail) get rows")
        return {"rows": 3, "note": "snowman ☃ and a 'quote'"}

    @task
    def numbers() -> list[int]:
        return [1, 2, 3]

    @task
    def square(n: int) -> int:
        return n * n

    @task.datacoves_bash
    def shell() -> str:
        return "echo synced"

    fails_once() >> shell()
    square.expand(n=numbers())


populate_metadata()


def sync_dag(db_type: str):
    @dag(
        dag_id=f"db_sync_{db_type}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        tags=["test"],
        default_args={"retries": 0},
    )
    def build():
        @task.datacoves_airflow_db_sync(
            db_type=db_type,
            connection_id="warehouse",
            destination_schema="airflow_sync",
            additional_tables=["log", "task_instance_history", "xcom"],
        )
        def sync_airflow_db():
            pass

        sync_airflow_db()

    return build()


for _db_type in ("postgres", "duckdb", "snowflake", "redshift"):
    sync_dag(_db_type)


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def db_sync_missing_table():
    @task.datacoves_airflow_db_sync(
        db_type="duckdb",
        connection_id="warehouse",
        destination_schema="airflow_sync",
        tables=["dag", "dag_pickles"],
    )
    def sync_airflow_db():
        pass

    sync_airflow_db()


db_sync_missing_table()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def db_sync_redshift_service():
    """The documented operator through its legacy path, with a service connection's variables."""
    from operators.datacoves.data_sync import DatacovesDataSyncOperatorRedshift

    DatacovesDataSyncOperatorRedshift(service_connection_name="airflow_db_load", additional_tables=["log"])


db_sync_redshift_service()
