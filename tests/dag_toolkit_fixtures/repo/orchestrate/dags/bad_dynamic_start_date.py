"""Bad: a start date computed at parse time (it moves on every parse)."""

from datetime import datetime, timedelta

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator

START = datetime.now() - timedelta(days=1)


@dag(
    default_args={"owner": "data-team", "retries": 3, "start_date": START},
    schedule="@daily",
    catchup=False,
    tags=["sample"],
)
def bad_dynamic_start_date():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_dynamic_start_date()
