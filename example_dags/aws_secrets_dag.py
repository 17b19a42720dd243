"""## Read a secret from AWS Secrets Manager
From the docs (how-tos/airflow/use-aws-secrets-manager): with `variables_lookup_pattern` `^aws_`,
only names starting with `aws_` are looked up in AWS Secrets Manager (secret
`airflow/variables/aws_my_secret`). The docs' version passes `connection_id="main"` to
`@task.datacoves_bash`, which takes no connection; it is left out here.
"""

import shlex

from airflow.decorators import dag, task
from airflow.models import Variable
from pendulum import datetime


@dag(
    catchup=False,
    default_args={
        "start_date": datetime(2024, 1, 1),
        "owner": "Mayra Pena",
        "email": "mayra@example.com",
        "email_on_failure": False,
    },
    tags=["version_1"],
    description="Testing task decorators",
    schedule="0 0 1 */12 *",
)
def aws_secrets_example():
    @task.datacoves_bash
    def calling_vars_in_decorator() -> str:
        my_var = Variable.get("aws_my_secret")
        return "echo " + shlex.quote("My variable is: " + my_var)

    calling_vars_in_decorator()


dag = aws_secrets_example()
