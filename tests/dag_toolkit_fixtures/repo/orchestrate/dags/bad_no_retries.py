"""Bad: retries=0."""

from datetime import datetime

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator


@dag(
    default_args={"owner": "data-team", "retries": 0, "start_date": datetime(2024, 1, 1)},
    schedule=None,
    catchup=False,
    tags=["sample"],
)
def bad_no_retries():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_no_retries()
