"""A helper whose top level reads a Variable: every DAG file importing it pays a lookup per parse."""

from airflow.models import Variable

SCHEMA = Variable.get("fixture_schema")
