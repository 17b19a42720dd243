"""## The classic dbt operator
From the docs (reference/airflow/datacoves-operator): `DatacovesDbtOperator` from its legacy import
path, as dbt-coves generates it from YAML. Without `connection_id` it uses the repository's own
profiles.yml (`DATACOVES__AIRFLOW_DBT_PROFILE_PATH`), the "environment variables" delivery mode.
"""

import datetime

from airflow.decorators import dag

from operators.datacoves.dbt import DatacovesDbtOperator


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime.datetime(2023, 1, 1, 0, 0),
        "owner": "Noel Gomez",
        "email": "gomezn@example.com",
        "email_on_failure": True,
    },
    description="Sample DAG for dbt build",
    schedule="0 0 1 */12 *",  # the docs' schedule_interval: Airflow 3 accepts only schedule
    tags=["version_2"],
    catchup=False,
)
def yaml_dbt_dag():
    DatacovesDbtOperator(task_id="run_dbt", bash_command="dbt build -s +personal_loans")


yaml_dbt_dag()
