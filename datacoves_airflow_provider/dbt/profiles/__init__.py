"""Temporary dbt profiles built from Airflow connections, with no secret on disk.

Each supported connection type has a small class per authentication method (a module per
adapter: :mod:`.snowflake`, :mod:`.postgres`, :mod:`.redshift`, :mod:`.bigquery`,
:mod:`.databricks`, :mod:`.duckdb`; the list in :mod:`.registry`) that reads the fields the Airflow
provider's own hook reads (including the legacy ``extra__<type>__<name>`` extras) and returns a dbt
target. ``overrides`` are applied on top, required fields are checked with an error that names the
connection and the field (:mod:`.target`), and the profile is written with every secret replaced by
``{{ env_var('DBT_ENV_SECRET_DATACOVES_...') }}`` (:mod:`.writing`): the values travel only in the
dbt process's environment (dbt scrubs ``DBT_ENV_SECRET_*`` values from its own logs), and are
registered with Airflow's secrets masker.
"""

from __future__ import annotations

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields as ConnectionFields
from datacoves_airflow_provider.dbt.profiles.base import DbtProfile as DbtProfile
from datacoves_airflow_provider.dbt.profiles.base import DbtProfileError
from datacoves_airflow_provider.dbt.profiles.overrides import check_overrides, parse_overrides_text
from datacoves_airflow_provider.dbt.profiles.registry import SECRET_FIELDS as SECRET_FIELDS
from datacoves_airflow_provider.dbt.profiles.registry import SUPPORTED_CONNECTION_TYPES
from datacoves_airflow_provider.dbt.profiles.target import DEFAULT_THREADS, build_target
from datacoves_airflow_provider.dbt.profiles.writing import (
    DEFAULT_PROFILE_NAME,
    DEFAULT_TARGET_NAME,
    WrittenProfile,
    mask_secret_fields,
    write_connection_profile,
    write_profile,
)
from datacoves_airflow_provider.dbt.profiles.writing import (
    profile_document as profile_document,
)

__all__ = [
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_TARGET_NAME",
    "DEFAULT_THREADS",
    "SUPPORTED_CONNECTION_TYPES",
    "DbtProfileError",
    "WrittenProfile",
    "build_target",
    "check_overrides",
    "mask_secret_fields",
    "parse_overrides_text",
    "write_connection_profile",
    "write_profile",
]
