"""A documented import path: this module *is* ``datacoves_airflow_provider.dbt.profiles``."""

import sys

from datacoves_airflow_provider.dbt import profiles

sys.modules[__name__] = profiles
