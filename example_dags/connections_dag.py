"""Docs: how-tos/airflow/use-variables-and-connections — a Connection read inside the task."""

from airflow.decorators import dag, task
from airflow.models import Connection
from pendulum import datetime


@dag(
    default_args={"start_date": datetime(2024, 1, 1), "owner": "Noel Gomez", "retries": 3},
    description="DAG that outputs Airbyte Hostname",
    schedule="0 0 1 */12 *",
    tags=["version_1"],
    catchup=False,
)
def connections_dag():
    @task.datacoves_bash()
    def echo_airbyte_host():
        airbyte_connection = Connection.get_connection_from_secrets(conn_id="AIRBYTE_CONNECTION")
        return f"echo 'Airbyte hostname is {airbyte_connection.host}'"

    echo_airbyte_host()


connections_dag()
