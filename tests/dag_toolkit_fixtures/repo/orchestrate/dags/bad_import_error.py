"""Bad: fails to import (a module that does not exist)."""

from airflow.decorators import dag

from orchestrate.utils.no_such_module import settings  # noqa: F401


@dag(schedule=None, catchup=False, tags=["sample"])
def bad_import_error():
    pass


bad_import_error()
