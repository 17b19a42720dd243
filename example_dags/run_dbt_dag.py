"""## Run dbt from Airflow
From the docs (how-tos/airflow/run-dbt): `@task.datacoves_dbt` builds a temporary dbt profile from
the Airflow connection `main` and runs the command in the dbt project of a private repo copy.
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Noel Gomez",  # Replace with name
        "email": "gomezn@example.com",  # Replace with your email
        "email_on_failure": True,
    },
    description="Sample DAG for dbt run",
    schedule="0 0 1 */12 *",  # Replace with your desired schedule
    tags=["version_2"],
    catchup=False,
)
def my_sample_dag():
    @task.datacoves_dbt(connection_id="main")
    def run_dbt():
        return "dbt build -s +personal_loans"  # Replace with your models

    run_dbt()


my_sample_dag()
