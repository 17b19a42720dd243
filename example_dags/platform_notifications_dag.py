"""## Notifications through the environment's integration
One DAG file for every Datacoves environment: the callbacks alert through the integration the
environment has (`DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION`, `SLACK` or `TEAMS`), read when the
callback runs. With no integration nothing is sent and the task log says so in one line. Teams
alerts use the `MS_TEAMS` connection (an `ms teams` integration), Slack ones the `SLACK` connection
(a `slack` integration); see docs/notifications.md.
"""

from airflow.decorators import dag, task
from pendulum import datetime

from datacoves_airflow_provider.notifiers import inform_failure, inform_retry, inform_success


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Noel Gomez",  # Replace with your name
        "retries": 1,
        "on_retry_callback": inform_retry,
    },
    description="Sample DAG alerting through the environment's notification integration",
    schedule="0 0 1 */12 *",
    tags=["version_2", "notifications"],
    catchup=False,
    on_success_callback=inform_success(message="DAG {{ dag.dag_id }} succeeded"),
    on_failure_callback=inform_failure(message="DAG {{ dag.dag_id }} failed", theme_color="emphasis"),
)
def platform_notifications_dag():
    @task.datacoves_bash
    def extract() -> str:
        return "echo 'extracting'"

    @task.datacoves_dbt(connection_id="main", on_failure_callback=inform_failure)
    def transform() -> str:
        return "dbt run -s personal_loans"

    extract() >> transform()


dag = platform_notifications_dag()
