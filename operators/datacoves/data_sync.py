"""Legacy path: ``from operators.datacoves.data_sync import DatacovesDataSyncOperatorSnowflake``."""

from datacoves_airflow_provider.decorators.data_sync import (
    _DatacovesDataSyncRedshiftDecoratedOperator,
    _DatacovesDataSyncSnowflakeDecoratedOperator,
)
from datacoves_airflow_provider.operators.data_sync import (
    DatacovesDataSyncOperatorRedshift,
    DatacovesDataSyncOperatorSnowflake,
)

__all__ = [
    "DatacovesDataSyncOperatorRedshift",
    "DatacovesDataSyncOperatorSnowflake",
    "_DatacovesDataSyncRedshiftDecoratedOperator",
    "_DatacovesDataSyncSnowflakeDecoratedOperator",
]
