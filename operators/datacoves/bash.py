"""Legacy path: ``from operators.datacoves.bash import DatacovesBashOperator``."""

from datacoves_airflow_provider.operators.bash import DatacovesBashOperator

__all__ = ["DatacovesBashOperator"]
