"""Bad: no tags."""

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args


@dag(default_args=default_args, schedule=None, catchup=False)
def bad_missing_tags():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_missing_tags()
