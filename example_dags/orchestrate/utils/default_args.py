"""From the docs (how-tos/airflow/send-emails): default arguments shared by several DAG files."""

from datetime import datetime, timedelta

default_args = {
    "owner": "mayra@example.com",
    "email_on_failure": False,
    "email_on_retry": False,
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "start_date": datetime(2024, 1, 1),
}
