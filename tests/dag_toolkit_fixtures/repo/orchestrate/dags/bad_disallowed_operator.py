"""Bad: uses Airflow's BashOperator, which is not in the allowed task types."""

from airflow.decorators import dag
from airflow.providers.standard.operators.bash import BashOperator

from orchestrate.utils.default_args import default_args


@dag(default_args=default_args, schedule=None, catchup=False, tags=["sample"])
def bad_disallowed_operator():
    BashOperator(task_id="plain_bash", bash_command="echo hi")


bad_disallowed_operator()
