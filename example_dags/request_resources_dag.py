"""Docs: how-tos/airflow/request-resources-on-workers — memory and CPU requests for one task."""

from datetime import datetime

from airflow.decorators import dag, task
from kubernetes.client import models as k8s

TRANSFORM_CONFIG = {
    "pod_override": k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="transform",
                    resources=k8s.V1ResourceRequirements(requests={"memory": "8Gi", "cpu": "1000m"}),
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
    description="Sample DAG with custom resources",
    schedule="0 0 1 */12 *",
    tags=["version_2"],
    catchup=False,
)
def request_resources_dag():
    @task.datacoves_bash(executor_config=TRANSFORM_CONFIG)
    def transform():
        return "echo 'Resource request DAG executed successfully!'"

    transform()


request_resources_dag()
