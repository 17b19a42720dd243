"""Every behaviour of @task.datacoves_bash / DatacovesBashOperator in one DAG (tests only).

Tasks write what they saw into ${EVIDENCE} (a folder outside the repository) for the test to read.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime

from operators.datacoves.bash import DatacovesBashOperator

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
TEST_VENV = os.environ.get("TEST_VENV", "/nonexistent")


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def bash_scenarios():
    @task.datacoves_bash
    def write_into_repo() -> str:
        return (
            f"set -e; pwd > {EVIDENCE}/write_pwd; echo changed >> README.md; echo new > new_file.txt; "
            f"mkdir -p transform/target && echo x > transform/target/out.txt; "
            f'echo "${{PYTHONPATH}}" > {EVIDENCE}/write_pythonpath; '
            f"git rev-parse --abbrev-ref HEAD > {EVIDENCE}/git_branch; "
            f"git status --short > {EVIDENCE}/git_status; "
            f"python -c 'import orchestrate.utils.helpers as h; print(h.__file__)' > {EVIDENCE}/import_path"
        )

    @task
    def worker_untouched() -> None:
        # Runs in the same process as the task before it under `airflow dags test`.
        with open(f"{EVIDENCE}/worker_env", "w") as fh:
            fh.write(
                f"{os.environ.get('PYTHONPATH', '<unset>')}\n{os.environ.get('VIRTUAL_ENV', '<unset>')}\n"
            )
            fh.write("\n".join(p for p in sys.path if "datacoves-stage" in p))

    @task.datacoves_bash(cwd="orchestrate/python_scripts")
    def in_cwd() -> str:
        return f"pwd > {EVIDENCE}/cwd_pwd && python sample_script.py > {EVIDENCE}/script_out"

    @task.datacoves_bash(virtualenv=TEST_VENV)
    def in_venv() -> str:
        return f"python -c 'import sys; print(sys.prefix)' > {EVIDENCE}/venv_prefix; echo ${{VIRTUAL_ENV}} >> {EVIDENCE}/venv_prefix"

    @task.datacoves_bash(virtualenv=TEST_VENV, activate_venv=False)
    def venv_off() -> str:
        return f'echo "${{VIRTUAL_ENV:-<unset>}}" > {EVIDENCE}/venv_off'

    @task.datacoves_bash
    def failing() -> str:
        return f"pwd > {EVIDENCE}/failing_pwd; exit 3"

    @task.datacoves_bash(env={"GREETING": "{{ var.value.greeting }}", "PATH": os.environ.get("PATH", "")})
    def templated_env() -> str:
        return f'echo "${{GREETING}}|${{DATACOVES__REPO_PATH:-<unset>}}" > {EVIDENCE}/templated_env'

    @task.datacoves_bash(env={"EXTRA": "{{ dag.dag_id }}"}, append_env=True)
    def appended_env() -> str:
        return (
            f'echo "${{EXTRA}}|${{DATACOVES__REPO_PATH}}" > {EVIDENCE}/appended_env && pwd > {EVIDENCE}/appended_pwd'
        )

    @task.datacoves_bash
    def skipped() -> str:
        return "exit 99"

    @task.datacoves_bash
    def returns_output(who: str = "world") -> str:
        return f"echo 'hello {who}'"

    @task.datacoves_bash
    def leaves_background_job() -> str:
        # the job outlives the command: it is asked to stop (SIGTERM, time to clean up) before
        # the staging folder goes. Its output is redirected: a job that keeps the command's stdout
        # open keeps the task reading it, as with Airflow's BashOperator.
        return (
            f"(trap 'echo stopped > {EVIDENCE}/bg_stopped; exit 0' TERM; "
            f"while true; do sleep 0.1; done) >/dev/null 2>&1 & echo $! > {EVIDENCE}/bg_pid; sleep 0.3"
        )

    DatacovesBashOperator(
        task_id="classic_operator",
        bash_command=f"pwd > {EVIDENCE}/classic_pwd && echo '{{{{ ds }}}}' > {EVIDENCE}/classic_ds",
        cwd="transform",
    )

    write_into_repo() >> worker_untouched()
    in_cwd()
    in_venv()
    venv_off()
    failing()
    templated_env()
    appended_env()
    skipped()
    returns_output("datacoves")
    leaves_background_job()


bash_scenarios()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def bash_timeout():
    # Its own DAG: on Airflow 2.11, `airflow dags test` stops at the first AirflowTaskTimeout.
    @task.datacoves_bash(execution_timeout=timedelta(seconds=4))
    def timed_out() -> str:
        return f"pwd > {EVIDENCE}/timeout_pwd; echo $$ > {EVIDENCE}/timeout_pid; sleep 120"

    timed_out()


bash_timeout()
