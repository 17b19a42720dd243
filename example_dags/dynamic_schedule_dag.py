"""## Dynamically set the schedule
From the docs (how-tos/airflow/dynamically-set-schedule): no schedule in the development
environment, the given one elsewhere. The docs name this DAG `datacoves_sample_dag`, which
external_python_dag.py already uses, so it is renamed here.
"""

from airflow.decorators import dag, task
from pendulum import datetime

from orchestrate.utils.get_schedule import get_schedule


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2022, 10, 10),
        "owner": "Noel Gomez",
        "email": "gomezn@example.com",
        "email_on_failure": True,
    },
    is_paused_upon_creation=True,
    catchup=False,
    tags=["version_8"],
    description="Datacoves Sample DAG",
    schedule=get_schedule("0 1 * * *"),  # Replace with desired schedule
)
def dynamic_schedule_dag():
    @task.datacoves_dbt(connection_id="main")
    def run_dbt_task():
        return "dbt debug"

    run_dbt_task()


dynamic_schedule_dag()
