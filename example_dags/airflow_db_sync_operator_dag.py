"""## Datacoves Airflow db Sync Sample DAG
Docs: reference/airflow/datacoves-operator — DatacovesDataSyncOperatorSnowflake through its legacy
import path, reading the service connection ``airflow_db_load`` from the ``DATACOVES__AIRFLOW_DB_LOAD__*``
environment variables (ACCOUNT, USER, PASSWORD, DATABASE, ROLE, WAREHOUSE) that Datacoves injects.

The docs' version passes ``schedule_interval`` and ``start_date="2021-01"``; Airflow 3 removed
``schedule_interval``, so this copy says ``schedule`` and gives the start date as a datetime.
"""

from airflow.decorators import dag
from pendulum import datetime

from operators.datacoves.data_sync import DatacovesDataSyncOperatorSnowflake


@dag(
    doc_md=__doc__,
    default_args={"start_date": datetime(2021, 1, 1)},
    description="sync_data_script",
    schedule="0 0 1 */12 *",
    tags=["version_3"],
    catchup=False,
)
def sync_airflow_db():
    # service connection name default is 'airflow_db_load': it can be omitted or changed to another one
    DatacovesDataSyncOperatorSnowflake(
        service_connection_name="airflow_db_load",
    )


sync_airflow_db()
