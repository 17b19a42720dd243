"""Production scenarios on the CeleryExecutor test deployment (tests only).

``concurrent_tasks``: 16 tasks at once, 8 ``@task.datacoves_bash`` and 8 ``@task.datacoves_dbt``
(PostgreSQL connection ``pg_<n>`` each, with its own password and schema, into which it loads a
seed), half on each worker's
queue. Every task has its own ``TASK_SECRET``; each records what it can see (its environment, its
working folder, its dbt profile) in ``$EVIDENCE/<task_id>/`` and waits until all 16 have started,
so that they really run at the same time.

``dbt_worker_killed``: one dbt build on worker A's queue with one retry; the test kills worker A
while dbt runs and moves the queue to worker B.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.decorators import dag, task
from pendulum import datetime

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")
TASKS = 16
QUEUES = ("worker_a", "worker_b")


def recorder(name: str) -> str:
    """Shell that records what this task sees, then waits for all TASKS tasks to have started."""
    return f"""set -eu
EVIDENCE={EVIDENCE}
out="$EVIDENCE/{name}"
mkdir -p "$out"
pwd > "$out/pwd"
env | sort > "$out/env"
if [ -n "${{DBT_PROFILES_DIR:-}}" ]; then cp "$DBT_PROFILES_DIR/profiles.yml" "$out/profiles.yml"; fi
touch "$EVIDENCE/started.{name}"
waited=0
while [ "$(ls "$EVIDENCE" | grep -c '^started\\.')" -lt {TASKS} ]; do
  sleep 0.2; waited=$((waited + 1))
  if [ "$waited" -ge 1500 ]; then echo "only $(ls "$EVIDENCE" | grep -c '^started\\.') tasks started"; exit 3; fi
done
"""


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["test"],
    max_active_tasks=TASKS,
    default_args={"retries": 0},
)
def concurrent_tasks():
    for n in range(TASKS // 2):
        queue = QUEUES[n % 2]

        @task.datacoves_bash(
            task_id=f"bash_{n}", queue=queue, env={"TASK_SECRET": f"bash-secret-{n}"}, append_env=n % 2 == 0
        )
        def bash_task(name: str) -> str:
            return recorder(name) + 'echo "done: $(pwd)"'

        @task.datacoves_dbt(
            task_id=f"dbt_{n}",
            queue=queue,
            connection_id=f"pg_{n}",
            project_dir="transform",
            env={"TASK_SECRET": f"dbt-secret-{n}"},
        )
        def dbt_task(name: str) -> str:
            return recorder(name) + "dbt seed -s raw_customers"  # into this task's own schema

        bash_task(f"bash_{n}")
        dbt_task(f"dbt_{n}")


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"])
def dbt_worker_killed():
    @task.datacoves_dbt(
        queue="worker_a",
        connection_id="pg_killed",
        project_dir="transform",
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    def dbt_build() -> str:
        return "dbt build -s +personal_loans"

    dbt_build()


concurrent_tasks()
dbt_worker_killed()
