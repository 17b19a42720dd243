"""Good: TaskFlow with shared default_args from the repository root; a Variable read inside a task."""

from airflow.decorators import dag, task
from airflow.models import Variable

from operators.datacoves.bash import DatacovesBashOperator
from orchestrate.utils.default_args import default_args


@dag(default_args=default_args, schedule="@daily", catchup=False, tags=["transform", "sample"])
def good_taskflow():
    @task
    def pick_target() -> str:
        return Variable.get("fixture_target")

    run = DatacovesBashOperator(task_id="run", bash_command="echo {{ var.value.fixture_target }}")
    pick_target() >> run


good_taskflow()
