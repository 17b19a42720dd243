"""Legacy path: ``from operators.datacoves.dbt import DatacovesDbtOperator``."""

from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator

__all__ = ["DatacovesDbtOperator"]
