"""Bash and dbt tasks on a worker laid out as Datacoves lays it out (tests only).

tests/test_repo_platform_runs.py sets the platform's repository variables (read-only clone in
DATACOVES__REPO_PATH_RO, a DATACOVES__REPO_PATH that does not exist, DATACOVES__DBT_HOME and
DBT_PROFILES_DIR inside the clone, PYTHONPATH the clone) and reads what the tasks wrote into ${EVIDENCE}.
"""

from __future__ import annotations

import os

from airflow.decorators import dag, task
from pendulum import datetime

from operators.datacoves.dbt import DatacovesDbtOperator

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def repo_platform():
    @task.datacoves_bash
    def in_copy() -> str:
        return (
            f'pwd > {EVIDENCE}/pwd && echo "${{DATACOVES__REPO_PATH}}" > {EVIDENCE}/repo_path && '
            f'echo "${{DATACOVES__REPO_PATH_RO}}" > {EVIDENCE}/repo_path_ro && '
            f'echo "${{PYTHONPATH}}" > {EVIDENCE}/pythonpath && echo "${{DBT_PROFILES_DIR}}" > {EVIDENCE}/profiles_dir && '
            'echo written > "${DATACOVES__REPO_PATH}/written_by_task.txt" && '
            f'cat "${{DATACOVES__REPO_PATH}}/written_by_task.txt" > {EVIDENCE}/written && '
            'python -c "import orchestrate.platform_probe as m; print(m.WHERE)" '
            f"> {EVIDENCE}/import_path && "
            f'cd "${{DATACOVES__DBT_HOME}}" && pwd > {EVIDENCE}/dbt_home_pwd && '
            f'echo "${{DATACOVES__DBT_HOME}}" > {EVIDENCE}/dbt_home && test -f dbt_project.yml'
        )

    @task
    def worker_untouched() -> None:
        # `airflow dags test` runs the tasks in one process: the worker's variables are as set
        names = ("DATACOVES__REPO_PATH", "DATACOVES__DBT_HOME", "DBT_PROFILES_DIR", "PYTHONPATH")
        with open(f"{EVIDENCE}/worker_env", "w") as fh:
            fh.write("\n".join(os.environ.get(name, "<unset>") for name in names))

    @task.datacoves_bash(env={"DATACOVES__REPO_PATH": "/explicitly/mine", "ONLY": "this"})
    def explicit_env() -> str:
        return (
            f'echo "${{DATACOVES__REPO_PATH}}|${{DATACOVES__DBT_HOME:-<unset>}}|${{ONLY}}" > {EVIDENCE}/explicit_env'
        )

    build = DatacovesDbtOperator(
        task_id="dbt_build",
        bash_command=(
            f'pwd > {EVIDENCE}/dbt_pwd && echo "${{DATACOVES__REPO_PATH}}" > {EVIDENCE}/dbt_repo_path && '
            f'echo "${{DBT_PROFILES_DIR}}" > {EVIDENCE}/dbt_profiles_dir && dbt build'
        ),
    )

    in_copy() >> worker_untouched() >> explicit_env() >> build


repo_platform()
