"""Bad: no owner (tasks fall back to Airflow's default owner)."""

from datetime import datetime

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator


@dag(
    default_args={"retries": 3, "start_date": datetime(2024, 1, 1)},
    schedule=None,
    catchup=False,
    tags=["sample"],
)
def bad_no_owner():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_no_owner()
