"""## Sync the Airflow database to Snowflake
Docs: how-tos/airflow/sync-database — the decorator example, unchanged but for the comments.

Copies the default tables (ab_permission, ab_role, ab_user, dag, dag_run, dag_tag, import_error, job,
task_fail, task_instance; the ones this Airflow lacks are skipped and reported) into the schema
``airflow_dev`` of the Snowflake connection ``main``. ``task_instance``, ``dag_run`` and ``job`` are
synced incrementally after the first run; the destination stays an exact copy.
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    default_args={
        "start_date": datetime(2022, 10, 10),
        "owner": "Bruno",
        "email": "bruno@example.com",
        "email_on_failure": False,
        "retries": 3,
    },
    description="Sample DAG for dbt build",
    schedule="0 0 1 */12 *",
    tags=["extract_and_load"],
    catchup=False,
)
def airflow_data_sync():
    @task.datacoves_airflow_db_sync(
        db_type="snowflake",
        destination_schema="airflow_dev",
        connection_id="main",
        # additional_tables=["additional_table_1", "additional_table_2"],
    )
    def sync_airflow_db():
        pass

    sync_airflow_db()


airflow_data_sync()
