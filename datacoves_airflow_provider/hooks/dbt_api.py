"""A documented import path: this module *is* ``datacoves_airflow_provider.dbt.api_client``."""

import sys

from datacoves_airflow_provider.dbt import api_client

sys.modules[__name__] = api_client
