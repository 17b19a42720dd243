"""Bad: catchup=True."""

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args


@dag(default_args=default_args, schedule="@daily", catchup=True, tags=["sample"])
def bad_catchup_true():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_catchup_true()
