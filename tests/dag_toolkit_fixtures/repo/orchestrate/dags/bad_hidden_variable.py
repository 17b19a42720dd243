"""Bad: imports a helper module whose top level reads a Variable (invisible in this file's source)."""

from airflow.decorators import dag

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args
from orchestrate.utils.warehouse_settings import SCHEMA


@dag(default_args=default_args, schedule=None, catchup=False, tags=["sample"])
def bad_hidden_variable():
    DatacovesBashOperator(task_id="run", bash_command=f"echo {SCHEMA}")


bad_hidden_variable()
