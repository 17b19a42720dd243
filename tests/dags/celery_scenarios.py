"""Tasks pinned to Celery queues (tests only): each writes where it ran into $EVIDENCE/<task_id>.json
(the host Airflow recorded for it, its temp dir, its queue) for the test to read."""

from __future__ import annotations

import json
import os
import tempfile

from airflow.decorators import dag, task
from pendulum import datetime

EVIDENCE = os.environ.get("EVIDENCE", "/nonexistent")


def report(ti) -> dict:
    seen = {"hostname": ti.hostname, "tmpdir": tempfile.gettempdir(), "queue": ti.queue, "pid": os.getpid()}
    with open(os.path.join(EVIDENCE, f"{ti.task_id}.json"), "w") as fh:
        json.dump(seen, fh)
    return seen


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def celery_scenarios():
    @task(queue="worker_a")
    def on_a(ti=None) -> dict:
        return report(ti)

    @task(queue="worker_b")
    def on_b(ti=None) -> dict:
        return report(ti)

    @task
    def on_default_queue(ti=None) -> dict:
        return report(ti)

    @task.datacoves_bash(queue="worker_b")
    def bash_on_b() -> str:
        # the repository is staged below the worker's temp dir; this runs in the staged copy
        return f'pwd > {EVIDENCE}/bash_on_b.pwd; echo "$TMPDIR" > {EVIDENCE}/bash_on_b.tmpdir'

    on_a()
    on_b()
    on_default_queue()
    bash_on_b()


@dag(
    schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], default_args={"retries": 0}
)
def celery_long_task():
    @task.datacoves_bash(queue="worker_b")
    def sleeps() -> str:
        return "sleep 600"

    sleeps()


celery_scenarios()
celery_long_task()
