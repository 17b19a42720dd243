"""## MS Teams notifications
From the docs (how-tos/airflow/send-ms-teams-notifications): a dbt run that posts a card to a
Teams channel when the DAG succeeds or fails. The card has a "View Log" button to the task's log.
The webhook URL comes from the `MS_TEAMS` connection Datacoves creates for an `ms teams`
integration (see docs/notifications.md).
"""

from airflow.decorators import dag, task
from pendulum import datetime

from notifiers.datacoves.ms_teams import MSTeamsNotifier


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Noel Gomez",
        "email": "gomezn@example.com",
        "email_on_failure": True,
    },
    description="Sample DAG with MS Teams notification",
    schedule="0 0 1 */12 *",
    tags=["version_2", "ms_teams_notification", "blue_green"],
    catchup=False,
    on_success_callback=MSTeamsNotifier(
        connection_id="MS_TEAMS",  # If using 'ms teams' as an Integration, this is optional
        message="DAG {{ dag.dag_id }} Succeeded",
    ),
    on_failure_callback=MSTeamsNotifier(message="DAG {{ dag.dag_id }} Failed"),
)
def dbt_run_ms_teams():  # the docs call it dbt_run; renamed here: send_emails_dag.py has that DAG id
    @task.datacoves_dbt(connection_id="main")
    def transform():
        return "dbt run -s personal_loans"

    transform()


dag = dbt_run_ms_teams()
