"""Bad (a warning): retries=1, below the recommended 3."""

from datetime import datetime

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator


@dag(
    default_args={"owner": "data-team", "retries": 1, "start_date": datetime(2024, 1, 1)},
    schedule=None,
    catchup=False,
    tags=["sample"],
)
def bad_few_retries():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_few_retries()
