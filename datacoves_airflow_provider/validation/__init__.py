"""The argument checks of the bash, dbt and data-sync operators and decorators, run when the DAG
is parsed (templated values once rendered, with the same messages): a bad argument fails the DAG
import with a message naming the task, the parameter and the fix, and never a secret value.

Errors are :class:`~datacoves_airflow_provider.exceptions.InvalidArgumentError` (a ``ValueError``)
and :class:`~datacoves_airflow_provider.exceptions.InvalidArgumentTypeError` (a ``TypeError``).
"""

from __future__ import annotations

from datacoves_airflow_provider.validation.bash import (
    check_command,
    check_env,
    check_env_name,
    check_output_encoding,
    check_rendered_env,
    check_skip_on_exit_code,
    check_staging,
    check_virtualenv,
)
from datacoves_airflow_provider.validation.common import (
    check_flag,
    check_name,
    check_no_nul,
    check_relative_path,
    is_template,
)
from datacoves_airflow_provider.validation.data_sync import (
    DB_TYPES,
    check_data_sync_names,
    check_db_sync_decorator_arguments,
    check_db_type,
    check_lookback,
    check_warehouse,
)
from datacoves_airflow_provider.validation.dbt import (
    check_dbt_cwd,
    check_expected_files,
    check_overrides_connection,
)

__all__ = [
    "DB_TYPES",
    "check_command",
    "check_data_sync_names",
    "check_db_sync_decorator_arguments",
    "check_db_type",
    "check_dbt_cwd",
    "check_env",
    "check_env_name",
    "check_expected_files",
    "check_flag",
    "check_lookback",
    "check_name",
    "check_no_nul",
    "check_output_encoding",
    "check_overrides_connection",
    "check_relative_path",
    "check_rendered_env",
    "check_skip_on_exit_code",
    "check_staging",
    "check_virtualenv",
    "check_warehouse",
    "is_template",
]
