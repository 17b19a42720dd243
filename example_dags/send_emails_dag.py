"""## Email on failure
From the docs (how-tos/airflow/send-emails): a dbt run whose failure emails the listed people
through Airflow's SMTP connection.
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Noel Gomez",  # Replace with your name
        "email": ["gomezn@example.com", "mayra@example.com", "walter@example.com"],
        "email_on_failure": True,
        "email_on_retry": False,
    },
    description="Sample DAG for dbt build",
    schedule="0 0 1 */12 *",
    tags=["version_1"],
    catchup=False,
)
def dbt_run():
    @task.datacoves_dbt(connection_id="main")
    def build_dbt():
        return "dbt build -s +personal_loans"

    build_dbt()


dag = dbt_run()
