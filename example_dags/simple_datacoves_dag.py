"""## Simple Datacoves DAG
Docs: reference/airflow/datacoves-operator — the classic operator through its legacy import path.
"""

from airflow.decorators import dag
from pendulum import datetime

from operators.datacoves.bash import DatacovesBashOperator


@dag(
    doc_md=__doc__,
    default_args={
        "start_date": datetime(2022, 10, 10),
        "owner": "Noel Gomez",
        "email": "gomezn@example.com",
        "email_on_failure": True,
        "retries": 3,
    },
    catchup=False,
    tags=["python_script"],
    description="Simple Datacoves DAG",
    schedule="0 0 1 */12 *",
)
def simple_datacoves_dag():
    DatacovesBashOperator(
        task_id="run_python_script",
        bash_command="python orchestrate/python_scripts/sample_script.py",
    )


simple_datacoves_dag()
