"""The warehouses the data sync writes to, and :func:`make_destination`, which picks one.

:mod:`.base` has what every destination does; :mod:`.postgres` (PostgreSQL, Redshift),
:mod:`.snowflake` and :mod:`.duckdb` what each warehouse does its own way. The classes are imported
when a destination is made, so importing this package loads no driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datacoves_airflow_provider.data_sync.connections import service_connection

if TYPE_CHECKING:
    from datacoves_airflow_provider.data_sync.destinations.base import SyncDestination

__all__ = ["make_destination"]


def make_destination(
    db_type: str, connection_id: str | None, service_connection_name: str | None
) -> SyncDestination:
    """The destination for ``db_type``, from an Airflow connection or a service connection.

    :param db_type: the destination kind (``snowflake``, ``redshift``, ``postgres``, ``duckdb``).
    :param connection_id: the Airflow connection, if the DAG named one.
    :param service_connection_name: the service connection, otherwise (Snowflake and Redshift).
    """
    connection = None
    if connection_id is None:
        assert service_connection_name is not None
        connection = service_connection(service_connection_name, db_type)
    name = connection_id or str(service_connection_name)
    if db_type == "snowflake":
        from datacoves_airflow_provider.data_sync.destinations.snowflake import SnowflakeDestination

        return SnowflakeDestination(name, connection=connection)
    if db_type == "redshift":
        from datacoves_airflow_provider.data_sync.destinations.postgres import RedshiftDestination

        return RedshiftDestination(name, connection=connection)
    if db_type == "postgres":
        from datacoves_airflow_provider.data_sync.destinations.postgres import PostgresDestination

        return PostgresDestination(name)
    from datacoves_airflow_provider.data_sync.destinations.duckdb import DuckDBDestination

    return DuckDBDestination(name)
