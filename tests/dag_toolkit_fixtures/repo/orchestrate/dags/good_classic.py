"""Good: classic operators built by a factory function that runs when the file is parsed.

``current_target`` reads a Variable, but only when a task calls it; the Jinja template reads one
when the task runs.
"""

from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.models import Variable

from operators.datacoves.bash import DatacovesBashOperator
from operators.datacoves.dbt import DatacovesDbtOperator


def current_target() -> str:
    return Variable.get("fixture_target")


def build_dag(dag_id: str) -> DAG:
    with DAG(
        dag_id,
        default_args={"owner": "data-team", "retries": 3},
        start_date=datetime(2024, 1, 1),
        schedule=None,
        catchup=False,
        tags=["extract_and_load"],
    ) as dag:
        load = DatacovesBashOperator(task_id="load", bash_command="echo {{ var.value.fixture_target }}")

        @task
        def report():
            return current_target()

        build = DatacovesDbtOperator(task_id="build", bash_command="dbt build")
        load >> build >> report()
    return dag


build_dag("good_classic")
