"""## Snowflake key-pair authentication
From the docs (how-tos/airflow/use-key-pair-authentication): the Airflow connection
`main_key_pair` is a Snowflake connection whose extra `private_key_content` (PEM, or base64 of
the PEM) or `private_key_file` holds the key, with the key's passphrase, if any, in Password.
The temporary dbt profile refers to the key through `env_var()`; it never lands on disk.
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    doc_md=__doc__,
    default_args={"start_date": datetime(2024, 1, 1), "owner": "Noel Gomez"},
    schedule=None,
    catchup=False,
    tags=["key_pair"],
)
def dbt_dag():
    @task.datacoves_dbt(
        connection_id="main_key_pair"  # your service connection name
    )
    def run_dbt():
        return "dbt debug"  # return any dbt command

    run_dbt()


dbt_dag()
