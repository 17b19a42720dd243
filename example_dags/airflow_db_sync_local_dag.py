"""## Sync the Airflow database into a local DuckDB file
No warehouse account needed: the README demo (scripts/demo.sh) runs this DAG. The connection
``airflow_warehouse`` names the DuckDB file, e.g.
``AIRFLOW_CONN_AIRFLOW_WAREHOUSE='{"conn_type": "duckdb", "host": "/tmp/airflow.duckdb"}'``.

Every table (``tables=[]``; the tables that may hold secrets, such as ``xcom``, only when named in
``additional_tables``) lands in the schema ``airflow_local``; the task's XCom is the summary (rows,
bytes and seconds per table).
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    schedule="@hourly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 1},
    tags=["sample"],
)
def airflow_db_sync_local():
    @task.datacoves_airflow_db_sync(
        db_type="duckdb",
        connection_id="airflow_warehouse",
        destination_schema="airflow_local",
        tables=[],
    )
    def sync_airflow_db():
        pass

    sync_airflow_db()


airflow_db_sync_local()
