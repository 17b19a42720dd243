"""Docs: how-tos/airflow/use-variables-and-connections — a Variable read inside the task.

``Variable.get`` runs in the callable, when the task runs, not every time the file is parsed.
"""

from airflow.decorators import dag, task
from airflow.models import Variable
from pendulum import datetime


@dag(
    default_args={"start_date": datetime(2024, 1, 1), "owner": "Noel Gomez", "retries": 3},
    description="DAG that outputs a Variable",
    schedule="0 0 1 */12 *",
    tags=["version_1"],
    catchup=False,
)
def variables_dag():
    @task.datacoves_bash()
    def transform():
        daily_run_tag = Variable.get("DBT_DAILY_RUN_TAG")
        return f"echo dbt build -s 'tag:{daily_run_tag}'"

    transform()


variables_dag()
