"""Docs: how-tos/airflow/customize-worker-environment — a custom image through executor_config.

On Kubernetes the task runs in ``<IMAGE REPO>:<IMAGE TAG>``; other executors ignore the override.
"""

from airflow.decorators import dag, task
from kubernetes.client import models as k8s
from pendulum import datetime

TRANSFORM_CONFIG = {
    "pod_override": k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="base",
                    image="<IMAGE REPO>:<IMAGE TAG>",
                )
            ]
        )
    ),
}


@dag(
    default_args={
        "start_date": datetime(2022, 10, 10),
        "owner": "Noel Gomez",
        "email": "gomezn@example.com",
        "email_on_failure": True,
        "retries": 3,
    },
    description="Sample DAG with custom image",
    schedule="0 0 1 */12 *",
    tags=["version_2"],
    catchup=False,
)
def yaml_teams_dag():
    @task.datacoves_bash(executor_config=TRANSFORM_CONFIG)
    def transform():
        return "echo SUCCESS!"

    transform()


yaml_teams_dag()
