"""## Read a secret from the Datacoves Secrets Manager
From the docs (how-tos/airflow/use-datacoves-secrets-manager). `Variable.get` is called inside the
decorated function, so the secret is fetched when the task runs, never when the DAG is parsed.
Datacoves answers only names starting with `datacoves-`; the value prints as `***` in the log.
Needs `[secrets] backend = datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend`
(see docs/secrets.md).
"""

import shlex

from airflow.decorators import dag, task
from airflow.models import Variable
from pendulum import datetime


@dag(
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Amy Chan",
        "email": "amy@example.com",
        "email_on_failure": False,
    },
    catchup=False,
    tags=["version_1"],
    description="Testing task decorators",
    schedule="0 0 1 */12 *",
)
def datacoves_secrets_example():
    @task.datacoves_bash
    def calling_vars_in_decorator() -> str:
        my_var = Variable.get("datacoves-mayras_secret")
        return "echo " + shlex.quote("My variable is: " + my_var)

    calling_vars_in_decorator()


dag = datacoves_secrets_example()
