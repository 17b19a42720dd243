"""## Retry dbt Example
From the docs (how-tos/airflow/retry-dbt-tasks): this DAG demonstrates how to retry a DAG that
fails during a run. The first try runs the full build and uploads its run_results.json (even though
dbt failed); the retry downloads it, is called with `expected_files=["run_results.json"]`, and runs
only the failed models and their children.

Here the `billing` project's payments arrive late as a file (`BILLING_LANDING_DIR/payments.csv`):
when it is missing, `payments` errors and `payment_totals` is skipped; once it has landed, the
retry builds those two and nothing else.
"""

from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime


@dag(
    doc_md=__doc__,
    catchup=False,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Your Name",
        "email": "your.email@example.com",
        "email_on_failure": False,
    },
    schedule="0 0 1 */12 *",
    description="Sample DAG demonstrating how to run the dbt models that fail",
    tags=["dbt_retry"],
)
def retry_dbt_failures():
    @task.datacoves_dbt(
        connection_id="main",
        project_dir="billing",
        dbt_api_enabled=True,
        download_run_results=True,
        retries=1,
        retry_delay=timedelta(seconds=20),
    )
    def dbt_build(expected_files: list = []):  # noqa: B006 (the docs' signature)
        if expected_files:
            return "dbt build -s result:error+ --state logs"
        else:
            return "dbt build"

    dbt_build(expected_files=["run_results.json"])


retry_dbt_failures()
