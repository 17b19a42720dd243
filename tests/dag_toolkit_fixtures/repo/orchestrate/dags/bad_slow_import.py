"""Bad: takes over a second to import (simulates heavy work at the top level)."""

import time

from airflow.decorators import dag, task

from orchestrate.utils.default_args import default_args

time.sleep(1.2)


@dag(default_args=default_args, schedule=None, catchup=False, tags=["sample"])
def bad_slow_import():
    @task
    def noop():
        return 1

    noop()


bad_slow_import()
