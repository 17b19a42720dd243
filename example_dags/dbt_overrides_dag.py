"""## Override profile fields and pick the target
From the docs (reference/airflow/datacoves-decorators): `overrides` replaces fields of the profile
built from the connection (warehouse, role, database, schema, threads, anything the adapter
accepts); `target` names the dbt target, for macros that look at `target.name`.
"""

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    doc_md=__doc__,
    default_args={"start_date": datetime(2024, 1, 1), "owner": "Noel Gomez"},
    schedule=None,
    catchup=False,
    tags=["overrides"],
)
def my_dbt_dag():
    @task.datacoves_dbt(
        connection_id="main",
        overrides={"warehouse": "my_custom_wh", "threads": 2},
        target="prd",
    )
    def dbt_test() -> str:
        return "dbt debug"

    dbt_test()


my_dbt_dag()
