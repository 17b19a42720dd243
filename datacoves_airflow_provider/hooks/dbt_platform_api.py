"""A documented import path: this module *is* ``datacoves_airflow_provider.dbt.platform_api``."""

import sys

from datacoves_airflow_provider.dbt import platform_api

sys.modules[__name__] = platform_api
