"""A documented import path: this module *is* ``datacoves_airflow_provider.dbt.retry``."""

import sys

from datacoves_airflow_provider.dbt import retry

sys.modules[__name__] = retry
