"""## Retry dbt failures, tests included
`result:error+` (the docs' retry selector) reruns models that *errored*, but a failing data test
has the status `fail`, so after a test failure it selects nothing and the retry passes without
checking anything. `dbt_retry_command` selects failed models, failed tests with the models they
test, and everything that was skipped:
`dbt build -s result:error+ 1+result:fail result:skipped+ --state logs`.
"""

from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.dbt.retry import dbt_retry_command


@dag(
    doc_md=__doc__,
    catchup=False,
    default_args={"start_date": datetime(2024, 1, 1), "owner": "Your Name"},
    schedule=None,
    description="Retry failed dbt models and failed dbt tests",
    tags=["dbt_retry"],
)
def retry_dbt_failures_and_tests():
    @task.datacoves_dbt(
        connection_id="main",
        project_dir="billing",
        dbt_api_enabled=True,
        download_run_results=True,
        retries=1,
        retry_delay=timedelta(seconds=20),
    )
    def dbt_build(expected_files: list | None = None):
        if expected_files:
            return dbt_retry_command("dbt build")
        return "dbt build"

    dbt_build(expected_files=["run_results.json"])


retry_dbt_failures_and_tests()
