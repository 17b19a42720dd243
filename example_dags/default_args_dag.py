"""## Shared default_args
From the docs (how-tos/airflow/send-emails, "DRY default_args"): default arguments imported from
orchestrate/utils/default_args.py.
"""

from airflow.decorators import dag, task

from orchestrate.utils.default_args import default_args  # Import default args


@dag(
    doc_md=__doc__,
    default_args=default_args,  # Use imported default args
    description="Daily dbt run",
    schedule="0 12 * * *",
    tags=["version_1"],
    catchup=False,
)
def default_args_dag():
    @task.datacoves_dbt(connection_id="main")
    def run_dbt():
        return "dbt run -s country_codes"

    run_dbt()


dag = default_args_dag()
