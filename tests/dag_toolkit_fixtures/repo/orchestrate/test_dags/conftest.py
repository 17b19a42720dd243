# orchestrate/test_dags/conftest.py
from datacoves_airflow_provider.testing.custom_reporter import *
