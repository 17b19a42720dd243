"""Bad: a tag outside the approved set."""

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args


@dag(default_args=default_args, schedule=None, catchup=False, tags=["sample", "adhoc"])
def bad_unapproved_tag():
    DatacovesBashOperator(task_id="run", bash_command="echo hi")


bad_unapproved_tag()
