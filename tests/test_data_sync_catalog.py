"""The catalog look-ups an incremental data sync makes on every run, against real PostgreSQL.

The sync reads a PostgreSQL source's primary keys and a PostgreSQL destination's columns from
``pg_catalog`` directly (SQLAlchemy's constraint reflection and ``information_schema.columns``
cost about 10 ms each on every run). These tests hold the fast look-ups to the answers of the slow
ones: on every table of a metadata database migrated by this interpreter's Airflow line (composite
keys on 2.x, UUID keys on 3.x), and on quoted, mixed-case names, views and dropped columns.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from harness.data_sync import MetadataDb, create_database, metadata_database

from datacoves_airflow_provider.data_sync.destinations.postgres import PostgresDestination
from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Iterator[MetadataDb]:
    with metadata_database(tmp_path_factory.mktemp("catalog_home")) as db:
        yield db


@pytest.mark.slow
def test_primary_keys_match_sqlalchemy_reflection_on_every_airflow_table(migrated):
    with AirflowMetadataDatabase(migrated.url).snapshot() as snapshot:
        tables = sorted(snapshot.table_names())
        assert "task_instance" in tables and len(tables) > 20
        expected = {
            t: tuple(snapshot.inspector.get_pk_constraint(t).get("constrained_columns") or ()) for t in tables
        }
        assert {t: snapshot.primary_key(t) for t in tables} == expected
        assert snapshot.describe("task_instance").primary_key == expected["task_instance"]


@pytest.mark.slow
def test_primary_key_order_quoting_and_tables_without_one(migrated):
    migrated.sql(
        'create table "Odd Table" ("Zed" integer, "a b" text, c integer, primary key ("a b", "Zed"))'
    )
    migrated.sql("create table no_key (x integer)")
    # a table of the same name in another schema is not the one the sync reads
    migrated.sql('create schema other; create table other."Odd Table" (c integer primary key)')
    with AirflowMetadataDatabase(migrated.url).snapshot() as snapshot:
        assert snapshot.primary_key("Odd Table") == ("a b", "Zed")
        assert snapshot.primary_key("Odd Table") == tuple(
            snapshot.inspector.get_pk_constraint("Odd Table")["constrained_columns"]
        )
        assert snapshot.primary_key("no_key") == ()
        assert snapshot.primary_key("not_there") == ()


@pytest.fixture
def warehouse(monkeypatch) -> Iterator[str]:
    name = f"warehouse_{uuid.uuid4().hex[:10]}"
    with create_database(name):
        monkeypatch.setenv(
            "AIRFLOW_CONN_WAREHOUSE",
            json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
                        "schema": name}),
        )  # fmt: skip
        yield f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


def test_postgres_destination_columns_match_information_schema(warehouse):
    with contextlib.closing(psycopg2.connect(warehouse)) as conn, conn.cursor() as cur:
        cur.execute(
            'create schema "My Schema"; '
            'create table "My Schema"."Mixed Case" (id integer, gone text, "Name" text, "x""y" jsonb); '
            'alter table "My Schema"."Mixed Case" drop column gone; '
            'create view "My Schema".v as select "Name", id from "My Schema"."Mixed Case"; '
            'create sequence "My Schema".seq'
        )
        conn.commit()

        def information_schema(schema: str, table: str) -> list[str]:
            cur.execute(
                "select column_name from information_schema.columns where table_schema = %s and "
                "table_name = %s order by ordinal_position",
                (schema, table),
            )
            return [row[0] for row in cur.fetchall()]

        destination = PostgresDestination("warehouse")
        with destination.session():
            for schema, table in [
                ("My Schema", "Mixed Case"),
                ("My Schema", "v"),
                ("My Schema", "missing"),
                ("missing schema", "Mixed Case"),
                ("My Schema", "seq"),
            ]:
                assert destination.target_columns(schema, table) == information_schema(schema, table)
            assert destination.target_columns("My Schema", "Mixed Case") == ["id", "Name", 'x"y']
            assert destination.table_exists("My Schema", "v")
            assert not destination.table_exists("My Schema", "seq")
