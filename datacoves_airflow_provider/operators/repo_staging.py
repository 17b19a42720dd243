"""A documented import path: this module *is* ``datacoves_airflow_provider.staging.repository``."""

import sys

from datacoves_airflow_provider.staging import repository

sys.modules[__name__] = repository
