"""Bad data-sync arguments fail when the DAG is parsed, naming the parameter and the fix; the table
set resolves as documented (defaults, [] = every table, additional_tables, missing tables)."""

from __future__ import annotations

import datetime as dt

import pytest
from harness.one_task_dags import decorated_dag, operator_dag

from datacoves_airflow_provider.data_sync.table_selection import (
    DEFAULT_TABLES,
    SECRET_BEARING_TABLES,
    MissingTablesError,
    TableSelection,
)
from datacoves_airflow_provider.data_sync.table_specs import stage_table_name
from datacoves_airflow_provider.operators.data_sync import DatacovesDataSyncOperator
from operators.datacoves.data_sync import (
    DatacovesDataSyncOperatorRedshift,
    DatacovesDataSyncOperatorSnowflake,
    _DatacovesDataSyncRedshiftDecoratedOperator,
    _DatacovesDataSyncSnowflakeDecoratedOperator,
)


def build_decorated(**kwargs):
    return decorated_dag("datacoves_airflow_db_sync", None, task_id="sync_airflow_db", **kwargs)


def build_operator(cls=DatacovesDataSyncOperator, **kwargs):
    return operator_dag(cls, **kwargs)


BAD_DECORATED = [
    ({"connection_id": "main"}, ValueError, "needs db_type='snowflake' or 'redshift'"),
    ({"db_type": "bigquery", "connection_id": "main"}, ValueError, "db_type='bigquery' is not supported"),
    ({"db_type": None, "connection_id": "main"}, ValueError, "db_type=None is not supported"),
    ({"db_type": "snowflake"}, ValueError, "connection_id='<Airflow connection>'"),
    ({"db_type": "snowflake", "connection_id": ""}, ValueError, "connection_id must be a connection name"),
    ({"db_type": "snowflake", "connection_id": "main", "tables": "dag"}, TypeError, "tables must be a list"),
    (
        {"db_type": "snowflake", "connection_id": "main", "tables": ["public.dag"]},
        ValueError,
        "tables holds 'public.dag', which is not a valid table name",
    ),
    (
        {"db_type": "snowflake", "connection_id": "main", "additional_tables": ['x"; drop table dag; --']},
        ValueError,
        "additional_tables holds",
    ),
    (
        {"db_type": "snowflake", "connection_id": "main", "additional_tables": [3]},
        TypeError,
        "additional_tables holds 3, which is not a table name",
    ),
    (
        {"db_type": "snowflake", "connection_id": "main", "destination_schema": " "},
        ValueError,
        "destination_schema must be a non-empty schema name",
    ),
    (
        {"db_type": "snowflake", "connection_id": "main", "incremental_lookback": -5},
        ValueError,
        "incremental_lookback must be a non-negative",
    ),
    (
        {"db_type": "duckdb", "connection_id": "main", "full_refresh": "no"},
        TypeError,
        "full_refresh must be True or False, got str 'no'",
    ),
    (
        {"db_type": "duckdb", "service_connection_name": "airflow_db_load"},
        ValueError,
        "service connections exist for Snowflake and Redshift only",
    ),
    (
        {"db_type": "postgres", "connection_id": "main", "replace_unmanaged_tables": 1},
        TypeError,
        "replace_unmanaged_tables must be True or False, got int 1",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "fragment"), BAD_DECORATED)
def test_bad_decorator_arguments_fail_at_parse_time(kwargs, error, fragment):
    with pytest.raises(error) as info:
        build_decorated(**kwargs)
    assert fragment in str(info.value)


def test_bad_operator_arguments_fail_at_parse_time():
    with pytest.raises(ValueError, match="this operator syncs to snowflake; db_type='redshift'"):
        build_operator(DatacovesDataSyncOperatorSnowflake, db_type="redshift")
    with pytest.raises(ValueError, match="service_connection_name must be a name"):
        build_operator(DatacovesDataSyncOperatorRedshift, service_connection_name="")
    with pytest.raises(ValueError, match="db_type='oracle' is not supported"):
        build_operator(task_id="t", db_type="oracle", connection_id="x")
    for cls in (DatacovesDataSyncOperatorSnowflake, DatacovesDataSyncOperatorRedshift):
        with pytest.raises(TypeError, match="replace_unmanaged_tables must be True or False"):
            build_operator(cls, replace_unmanaged_tables="no")


def test_documented_forms_build_the_documented_classes():
    """db_type is case-insensitive; the decorator's class depends on it (DAG checks allow by class name)."""
    built = build_decorated(db_type="Snowflake", destination_schema="airflow_dev", connection_id="main")
    op = built.get_task("sync_airflow_db")
    assert type(op) is _DatacovesDataSyncSnowflakeDecoratedOperator
    assert op.db_type == "snowflake" and op.selection.tables is None
    built = build_decorated(db_type="REDSHIFT", connection_id="main", tables=[], additional_tables=["log"])
    op = built.get_task("sync_airflow_db")
    assert type(op) is _DatacovesDataSyncRedshiftDecoratedOperator
    assert op.selection == TableSelection(tables=(), additional_tables=("log",))

    # the docs' operator example: no task_id, default service connection
    built = build_operator(DatacovesDataSyncOperatorSnowflake)
    op = built.get_task("sync_airflow_db")
    assert (op.db_type, op.service_connection_name, op.connection_id) == (
        "snowflake",
        "airflow_db_load",
        None,
    )
    built = build_operator(DatacovesDataSyncOperatorRedshift, connection_id="redshift_main", tables=["dag"])
    op = built.get_task("sync_airflow_db")
    assert (op.db_type, op.service_connection_name, op.connection_id) == ("redshift", None, "redshift_main")
    assert op.incremental_lookback == dt.timedelta(minutes=10)
    assert op.replace_unmanaged_tables is False
    built = build_decorated(db_type="duckdb", connection_id="duck", replace_unmanaged_tables=True)
    assert built.get_task("sync_airflow_db").replace_unmanaged_tables is True


AIRFLOW3_TABLES = {"dag", "dag_run", "dag_tag", "import_error", "job", "task_instance", "log", "xcom"}


def test_default_tables_missing_on_this_airflow_are_skipped_not_fatal():
    names, skipped = TableSelection.from_arguments(None, None).resolve(AIRFLOW3_TABLES)
    assert names == ["dag", "dag_run", "dag_tag", "import_error", "job", "task_instance"]
    assert skipped == ["ab_permission", "ab_role", "ab_user", "task_fail"]
    assert set(DEFAULT_TABLES) == set(names) | set(skipped)


def test_additional_tables_are_added_and_an_empty_list_means_every_table():
    names, _ = TableSelection.from_arguments(None, ["log", "dag"]).resolve(AIRFLOW3_TABLES)
    assert names[-1] == "log" and names.count("dag") == 1
    existing = AIRFLOW3_TABLES | {"_airflow_deleted__task_instance__20240101000000"}
    every = TableSelection.from_arguments([], None)
    names, skipped = every.resolve(existing)
    # db clean's archive tables are not synced, nor the tables that may hold secrets
    assert names == sorted(AIRFLOW3_TABLES - {"log", "xcom"}) and skipped == []
    assert every.withheld(existing) == ["log", "xcom"]


def test_every_table_leaves_out_the_tables_that_may_hold_secrets_unless_named():
    existing = AIRFLOW3_TABLES | set(SECRET_BEARING_TABLES)
    assert set(SECRET_BEARING_TABLES) == {
        "xcom", "rendered_task_instance_fields", "log", "task_state_store", "asset_state_store",
    }  # fmt: skip
    names, _ = TableSelection.from_arguments([], None).resolve(existing)
    assert not set(SECRET_BEARING_TABLES) & set(names)
    selection = TableSelection.from_arguments([], ["xcom", "rendered_task_instance_fields"])
    names, _ = selection.resolve(existing)
    assert names[-2:] == ["xcom", "rendered_task_instance_fields"]
    assert selection.withheld(existing) == ["asset_state_store", "log", "task_state_store"]
    # named in tables, or not asked for with [], nothing is withheld
    selection = TableSelection.from_arguments(["xcom", "log"], None)
    assert selection.resolve(existing)[0] == ["xcom", "log"] and selection.withheld(existing) == []
    assert TableSelection.from_arguments(None, None).withheld(existing) == []


def test_work_table_names_are_unique_and_fit_every_destination():
    assert stage_table_name("task_instance") == "_dcsync_stage__task_instance"
    assert stage_table_name("dag", "keys") == "_dcsync_keys__dag"
    a, b = "t" * 48 + "_first_table_a", "t" * 48 + "_second_table"
    for purpose in ("stage", "keys", "typed"):
        assert stage_table_name(a, purpose) != stage_table_name(b, purpose)
        assert len(stage_table_name(a, purpose)) <= 63 and len(stage_table_name(b, purpose)) <= 63
    assert stage_table_name(a) == stage_table_name(a)  # stable from run to run


def test_a_table_asked_for_by_name_that_does_not_exist_is_an_error():
    with pytest.raises(
        MissingTablesError, match="do not exist in this Airflow's metadata database: task_fail"
    ):
        TableSelection.from_arguments(["dag", "task_fail"], None).resolve(AIRFLOW3_TABLES)
    with pytest.raises(MissingTablesError, match="ab_user"):
        TableSelection.from_arguments(None, ["ab_user"]).resolve(AIRFLOW3_TABLES)
