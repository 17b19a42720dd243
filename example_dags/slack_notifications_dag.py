"""## Slack notifications
The MS Teams example with Slack: the same card (DAG, task, run, try, state, duration) and "View
Log" button, posted through the Slack provider's SlackWebhookHook to the `SLACK_NOTIFICATIONS`
connection Datacoves creates for a `slack notifications` integration. Switching channel is one
import; task-level callbacks and lists work as well (see docs/notifications.md).
"""

from airflow.decorators import dag, task
from pendulum import datetime

from notifiers.datacoves.slack import SlackNotifier

run_inform_success = SlackNotifier(
    connection_id="SLACK_NOTIFICATIONS",  # the Slack integration's name, upper-cased with underscores
    message="The DAG {{ dag.dag_id }} succeeded",
)
run_inform_failure = SlackNotifier(
    connection_id="SLACK_NOTIFICATIONS",
    message="The DAG {{ dag.dag_id }} failed",
)


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Noel Gomez",  # Replace with your name
        "email": "gomezn@example.com",  # Replace with your email
        "email_on_failure": True,
        "on_retry_callback": SlackNotifier(connection_id="SLACK_NOTIFICATIONS", theme_color="warning"),
    },
    description="Sample DAG with Slack notification",
    schedule="0 0 1 */12 *",
    tags=["version_2"],
    catchup=False,
    on_success_callback=[run_inform_success],
    on_failure_callback=[run_inform_failure],
)
def yaml_slack_dag():
    @task.datacoves_dbt(connection_id="main")
    def transform():
        return "dbt run -s personal_loans"

    transform()


dag = yaml_slack_dag()
