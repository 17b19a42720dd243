"""Bad: reads a Variable at the top level, so every parse of this file queries for it."""

from airflow.decorators import dag
from airflow.models import Variable

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args

TARGET = Variable.get("fixture_target")


@dag(default_args=default_args, schedule=None, catchup=False, tags=["sample"])
def bad_top_level_variable():
    DatacovesBashOperator(task_id="run", bash_command=f"echo {TARGET}")


bad_top_level_variable()
