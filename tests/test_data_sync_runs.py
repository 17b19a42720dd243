"""Real syncs of a real Airflow metadata database on PostgreSQL into every destination.

The source is migrated by this interpreter's Airflow line, populated by running a real DAG (a
retried task, XComs, a mapped task) and topped up with generated rows. Every comparison is per
table: row count and a checksum of the normalised content on both sides.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from conftest import DEMO_REPO, free_port
from data_sync_support import (
    REDSHIFT_SHIMS,
    MetadataDb,
    create_database,
    duckdb_fingerprints,
    metadata_database,
    postgres_fingerprints,
    postgres_text_contains,
    snowflake_fingerprints,
    source_fingerprints,
    work_tables_left,
)

from datacoves_airflow_provider.hooks.airflow_metadata_db import AirflowMetadataDatabase
from datacoves_airflow_provider.hooks.sync_destination import DestinationError
from datacoves_airflow_provider.hooks.sync_destination_duckdb import DuckDBDestination
from datacoves_airflow_provider.hooks.sync_destination_postgres import (
    PostgresDestination,
    RedshiftDestination,
)
from datacoves_airflow_provider.hooks.sync_destination_snowflake import SnowflakeDestination
from datacoves_airflow_provider.operators.data_sync_engine import DataSync
from datacoves_airflow_provider.operators.data_sync_tables import TableSelection
from datacoves_airflow_provider.testing.metadata_seed import seed_metadata_rows

SCHEMA = "airflow_sync"
PLANTED = ["Planted-Conn-Secret-91a4", "Planted-Var-Secret-3c7e"]
SYNC_DAGS = ("db_sync_postgres", "db_sync_duckdb", "db_sync_snowflake", "db_sync_redshift")


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> Iterator[MetadataDb]:
    """A metadata database filled by a real DAG run, then topped up with generated rows."""
    home = tmp_path_factory.mktemp("sync_home")
    with metadata_database(home) as db:
        tries = home / "tries"
        result = db.run_dag("populate_metadata", TRIES_FILE=str(tries), DATACOVES__REPO_PATH=str(DEMO_REPO))
        assert result.returncode == 0 and set(result.states.values()) == {"success"}, result.output[-4000:]
        assert tries.read_text().count("try") == 2  # the retried task ran twice
        with contextlib.closing(db.connect()) as conn:
            seed_metadata_rows(conn, 3000, dag_id="seeded_dag")
        # credentials in Airflow's own tables (no fernet key here: stored in clear)
        # (the variable by SQL: `airflow variables set` would also record its value in the `log` table)
        proc = db.airflow(
            "connections", "add", "planted", "--conn-uri", f"postgresql://u:{PLANTED[0]}@db.example.com/x"
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        db.sql("insert into variable (key, val, is_encrypted) values ('planted', %s, false)", PLANTED[1])
        # as stored: in clear, or Fernet-encrypted when the Airflow home has a key
        stored = db.sql(
            "select password from connection where conn_id = 'planted' "
            "union all select val from variable where key = 'planted'"
        )
        assert len(stored) == 2 and all(value for (value,) in stored)
        db.planted = [*PLANTED, *(value for (value,) in stored)]
        yield db


@pytest.fixture
def pg_warehouse() -> Iterator[str]:
    name = f"warehouse_{uuid.uuid4().hex[:10]}"
    with create_database(name):
        yield f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


def pg_conn_json(dsn: str, **fields: object) -> str:
    params = dict(part.split("=", 1) for part in dsn.split())
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": params["host"],
            "port": int(params["port"]),
            "login": params["user"],
            "schema": params["dbname"],
            **fields,
        }
    )


def sync(db: MetadataDb, destination, **kwargs) -> dict:
    selection = TableSelection.from_arguments(kwargs.pop("tables", []), kwargs.pop("additional_tables", None))
    return DataSync(AirflowMetadataDatabase(db.url), destination, SCHEMA, selection, **kwargs).run().as_dict()


def mutate_source(db: MetadataDb) -> None:
    """What a day of Airflow does: state changes, new runs, and ``airflow db clean`` deleting old rows."""
    db.sql(
        "update task_instance set state = 'failed', try_number = try_number + 1, updated_at = now() "
        "where dag_id = 'seeded_dag' and task_id = 'model_7_run'"
    )
    db.sql("update dag_run set state = 'failed', updated_at = now() where id = (select max(id) from dag_run)")
    with contextlib.closing(db.connect()) as conn:
        seed_metadata_rows(conn, 200, dag_id=f"seeded_{uuid.uuid4().hex[:6]}", span_days=0.001)
    oldest = db.sql("select min(start_date) from task_instance where dag_id = 'seeded_dag'")[0][0]
    before = (oldest + datetime.timedelta(days=2)).isoformat()  # a couple of days' worth of rows go
    proc = db.airflow(
        "db", "clean", "--clean-before-timestamp", before, "--tables", "task_instance,log,job",
        "--skip-archive", "--yes",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def by_table(summary: dict) -> dict[str, dict]:
    return {t["table"]: t for t in summary["tables"]}


def snowflake_conn(port: int, database: str) -> tuple[str, dict]:
    """An Airflow connection to fakesnow's server, and the connector parameters for reading it back."""
    conn = {
        "conn_type": "snowflake",
        "login": "sync_user",
        "password": "Sf-Sync-Password-61d0",
        "schema": "PUBLIC",
        "extra": {
            "account": "fakesnow",
            "database": database,
            "warehouse": "WH",
            "role": "ROLE",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "network_timeout": 60,
        },
    }
    params = dict(
        user="reader", password="any", account="fakesnow", host="127.0.0.1", port=port, protocol="http",
        database=database, network_timeout=60,
    )  # fmt: skip
    return json.dumps(conn), params


def redshift_conn(dsn: str) -> str:
    """A Redshift connection to the test PostgreSQL (the amazon provider's connection type)."""
    params = dict(part.split("=", 1) for part in dsn.split())
    return json.dumps(
        {
            "conn_type": "redshift",
            "host": params["host"],
            "port": int(params["port"]),
            "login": params["user"],
            "password": "Rs-Sync-Password-2b9e",
            "schema": params["dbname"],
        }
    )


@pytest.fixture
def redshift_warehouse(pg_warehouse) -> str:
    """The test PostgreSQL with Redshift's SUPER/VARBYTE types and JSON_PARSE/FROM_HEX functions."""
    with contextlib.closing(psycopg2.connect(pg_warehouse)) as conn, conn.cursor() as cur:
        cur.execute(REDSHIFT_SHIMS)
        conn.commit()
    return pg_warehouse


#: For fakesnow (about 300 rows/s through its HTTP emulation), the tables whose columns cover every
#: kind Airflow uses (JSON, binary, UUID, naive and aware timestamps) instead of all of them.
SNOWFLAKE_TABLES = [
    "ab_user", "dag", "dag_run", "dag_version", "job", "log", "rendered_task_instance_fields",
    "serialized_dag", "task_fail", "task_instance", "task_instance_history", "xcom",
]  # fmt: skip


@pytest.mark.parametrize("kind", ["postgres", "duckdb", "redshift", "snowflake"])
def test_every_table_is_an_exact_copy_through_updates_deletes_and_new_columns(
    metadata, kind, tmp_path, monkeypatch, request
):
    """Full copy, then a day's changes (incremental merge, deletes by airflow db clean), then an
    upgrade's new column (full refresh). On Snowflake (fakesnow) the new-column step is left out:
    it uses ALTER TABLE ... SWAP WITH, which fakesnow does not implement."""
    tables = metadata.tables()
    if kind in ("postgres", "redshift"):
        dsn = request.getfixturevalue("redshift_warehouse" if kind == "redshift" else "pg_warehouse")
        if kind == "redshift":
            monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", redshift_conn(dsn))
            destination = RedshiftDestination("warehouse")
        else:
            monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_conn_json(dsn))
            destination = PostgresDestination("warehouse")

        def fingerprints(tables):
            return postgres_fingerprints(metadata, dsn, SCHEMA, tables)
    elif kind == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        destination = DuckDBDestination("warehouse", path=str(path))

        def fingerprints(tables):
            return duckdb_fingerprints(metadata, path, SCHEMA, tables)
    else:
        server = request.getfixturevalue("fakesnow")
        conn, params = snowflake_conn(server.port, f"DB_{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", conn)
        destination = SnowflakeDestination("warehouse")
        tables = [t for t in SNOWFLAKE_TABLES if t in tables]

        def fingerprints(tables):
            return snowflake_fingerprints(metadata, params, SCHEMA, tables)

    first = by_table(sync(metadata, destination, tables=tables))
    assert set(first) == set(tables) and {t["mode"] for t in first.values()} == {"full"}
    source_rows = metadata.sql("select count(*) from task_instance")[0][0]
    assert first["task_instance"]["rows_copied"] == source_rows > 2000
    assert fingerprints(tables) == source_fingerprints(metadata, tables)

    mutate_source(metadata)
    second = by_table(sync(metadata, destination, tables=tables))
    ti = second["task_instance"]
    assert ti["mode"] == "incremental", ti
    assert ti["rows_deleted"] > 0 and "deleted at the source" in ti["reason"], ti
    assert 0 < ti["rows_copied"] < first["task_instance"]["rows_copied"], ti
    assert second["log"]["mode"] == "incremental" and second["job"]["mode"] == "incremental"
    assert fingerprints(tables) == source_fingerprints(metadata, tables)
    if kind == "snowflake":
        return

    # an Airflow upgrade adds a column: the table is refreshed in full, with it
    column = f"upgrade_{uuid.uuid4().hex[:6]}"
    metadata.sql(f"alter table task_instance add column {column} varchar(20) default 'v2'")
    third = by_table(sync(metadata, destination, tables=tables))
    assert third["task_instance"]["mode"] == "full" and third["task_instance"]["reason"] == "columns changed"
    assert third["dag_run"]["mode"] == "incremental"
    assert fingerprints(tables) == source_fingerprints(metadata, tables)
    if kind in ("postgres", "redshift"):
        assert work_tables_left(dsn, SCHEMA) == []
        # credential columns are never copied, even with tables=[] (every table)
        assert postgres_text_contains(dsn, SCHEMA, metadata.planted) == []
        assert metadata.sql("select count(*) from connection where conn_id = 'planted'") == [(1,)]
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            cur.execute(
                f"select host, password, extra from \"{SCHEMA}\".connection where conn_id = 'planted'"
            )
            assert cur.fetchall() == [("db.example.com", None, None)]
        assert third["connection"]["redacted"] == ["password", "extra"]


def test_unreachable_destination_names_the_connection(metadata, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE", pg_conn_json(f"host=127.0.0.1 port={free_port()} user=postgres dbname=x")
    )
    with pytest.raises(DestinationError) as info:
        sync(metadata, PostgresDestination("warehouse"), tables=["dag"])
    assert "Could not connect to the PostgreSQL destination of connection 'warehouse'" in str(info.value)


def test_permission_denied_names_the_connection_and_the_privilege(metadata, monkeypatch, pg_warehouse):
    role = f"reader_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(pg_warehouse)
    admin.autocommit = True
    dbname = pg_warehouse.rsplit("dbname=", 1)[1]
    admin.cursor().execute(
        f'create role {role} login; revoke create on database "{dbname}" from public; '
        "revoke create on schema public from public"
    )
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_WAREHOUSE", pg_conn_json(pg_warehouse.replace("user=postgres", f"user={role}"))
        )
        with pytest.raises(DestinationError) as info:
            sync(metadata, PostgresDestination("warehouse"), tables=["dag"])
        message = str(info.value)
        assert "connection 'warehouse'" in message and "permission denied" in message
        assert "lacks a privilege" in message
    finally:
        admin.cursor().execute(f"drop owned by {role}; drop role {role}")
        admin.close()


KILL_SCRIPT = """
import sys
from datacoves_airflow_provider.hooks.airflow_metadata_db import AirflowMetadataDatabase
from datacoves_airflow_provider.hooks.sync_destination_duckdb import DuckDBDestination
from datacoves_airflow_provider.hooks.sync_destination_postgres import PostgresDestination, RedshiftDestination
from datacoves_airflow_provider.hooks.sync_destination_snowflake import SnowflakeDestination
from datacoves_airflow_provider.operators.data_sync_engine import DataSync
from datacoves_airflow_provider.operators.data_sync_tables import TableSelection
url, kind, target = sys.argv[1:4]
destination = PostgresDestination("warehouse") if kind == "postgres" else DuckDBDestination("warehouse", path=target)
DataSync(AirflowMetadataDatabase(url), destination, "airflow_sync", TableSelection.from_arguments([], None),
         full_refresh=True).run()
print("SYNC DONE")
"""


@pytest.fixture(scope="module")
def big_metadata(tmp_path_factory) -> Iterator[MetadataDb]:
    """A metadata database big enough (100,000 task instances) that a sync can be killed mid-copy."""
    with metadata_database(tmp_path_factory.mktemp("big_home")) as db:
        with contextlib.closing(db.connect()) as conn:
            seed_metadata_rows(conn, 100_000)
        yield db


@pytest.mark.parametrize("kind", ["postgres", "duckdb"])
def test_a_sync_killed_mid_copy_leaves_the_destination_as_it_was(big_metadata, kind, tmp_path, pg_warehouse):
    db = big_metadata
    target = str(tmp_path / "warehouse.duckdb")
    env = {
        **os.environ,
        "AIRFLOW_CONN_WAREHOUSE": pg_conn_json(pg_warehouse),
        "TMPDIR": str(tmp_path),
        "PYTHONWARNINGS": "ignore",
    }
    tables = db.tables()

    def fingerprints():
        if kind == "postgres":
            return postgres_fingerprints(db, pg_warehouse, SCHEMA, tables)
        return duckdb_fingerprints(db, Path(target), SCHEMA, tables)

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, db.url, kind, target],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    first = start()
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and "SYNC DONE" in out, out[-3000:]
    baseline = fingerprints()
    assert baseline == source_fingerprints(db, tables)

    db.sql("update task_instance set state = 'restarting', updated_at = now() where task_id = 'model_3_run'")
    victim = start()
    deadline = time.monotonic() + 120
    while not copying_task_instance(kind, pg_warehouse, tmp_path):
        assert victim.poll() is None, (
            f"the sync ended before it could be killed:\n{victim.stdout.read()[-3000:]}"
        )
        assert time.monotonic() < deadline, "the sync never reached task_instance"
        time.sleep(0.01)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)

    assert fingerprints() == baseline  # not one table changed
    if kind == "postgres":
        assert work_tables_left(pg_warehouse, SCHEMA) == []

    again = start()
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and "SYNC DONE" in out, out[-3000:]
    assert fingerprints() == source_fingerprints(db, tables)


def copying_task_instance(kind: str, dsn: str, tmp_path: Path) -> bool:
    """Whether the running sync is in the middle of loading task_instance (rows already sent)."""
    if kind == "postgres":
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            cur.execute(
                "select count(*) from pg_stat_activity where query like 'COPY %%_dcsync_stage__task_instance%%' "
                "and state = 'active'"
            )
            return bool(cur.fetchone()[0])
    spools = list(tmp_path.glob("datacoves-sync-*/_dcsync_stage__task_instance.csv"))
    return any(p.exists() and p.stat().st_size > 1_000_000 for p in spools)


def test_sync_dags_run_and_report_on_this_airflow(metadata, tmp_path, pg_warehouse):
    """The decorator in a real ``airflow dags test`` run: per-table log lines, summary table, XCom."""
    path = tmp_path / "warehouse.duckdb"
    conn = json.dumps({"conn_type": "duckdb", "host": str(path)})
    result = metadata.run_dag("db_sync_duckdb", AIRFLOW_CONN_WAREHOUSE=conn)
    assert result.returncode == 0 and result.states == {"sync_airflow_db": "success"}, result.output[-5000:]
    assert "task_instance: full (new table):" in result.output and "rows/s" in result.output
    assert "table          mode" in result.output or "table " in result.output
    summary = metadata.xcom("db_sync_duckdb", "sync_airflow_db")
    tables = by_table(summary)
    assert summary["schema"] == SCHEMA and summary["destination"] == "DuckDB (warehouse)"
    assert {"dag", "dag_run", "task_instance", "job", "log", "xcom"} <= set(tables)
    assert tables["task_instance"]["rows_total"] >= 3000
    if "task_fail" in metadata.tables():
        assert "task_fail" in tables
    else:
        assert "task_fail" in summary["skipped"]
        assert "Not on this Airflow, skipped:" in result.output

    result = metadata.run_dag("db_sync_postgres", AIRFLOW_CONN_WAREHOUSE=pg_conn_json(pg_warehouse))
    assert result.returncode == 0 and result.states == {"sync_airflow_db": "success"}, result.output[-5000:]
    summary = by_table(metadata.xcom("db_sync_postgres", "sync_airflow_db"))
    assert summary["task_instance"]["rows_total"] >= 3000


def test_snowflake_and_redshift_sync_dags_run_on_this_airflow(metadata, fakesnow, redshift_warehouse):
    conn, _ = snowflake_conn(fakesnow.port, f"DB_{uuid.uuid4().hex[:8]}")
    for dag_id, conn_json in (
        ("db_sync_snowflake", conn),
        ("db_sync_redshift", redshift_conn(redshift_warehouse)),
    ):
        result = metadata.run_dag(dag_id, AIRFLOW_CONN_WAREHOUSE=conn_json)
        assert result.returncode == 0 and result.states == {"sync_airflow_db": "success"}, result.output[
            -5000:
        ]
        summary = metadata.xcom(dag_id, "sync_airflow_db")
        assert by_table(summary)["task_instance"]["rows_total"] >= 2000
        assert "Sf-Sync-Password" not in result.output and "Rs-Sync-Password" not in result.output


def test_a_table_asked_for_that_does_not_exist_fails_before_writing(metadata, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    conn = json.dumps({"conn_type": "duckdb", "host": str(path)})
    result = metadata.run_dag("db_sync_missing_table", AIRFLOW_CONN_WAREHOUSE=conn)
    assert result.states == {"sync_airflow_db": "failed"}, result.output[-4000:]
    assert "do not exist in this Airflow's metadata database: dag_pickles" in result.output
    assert not path.exists()  # nothing was written, not even the file


def test_redshift_operator_reads_its_service_connection_and_names_the_default_schema(
    metadata, redshift_warehouse
):
    """DatacovesDataSyncOperatorRedshift(service_connection_name=...) from DATACOVES__<NAME>__* variables;
    the schema defaults to airflow-<environment slug> (a dash: quoted everywhere)."""
    params = dict(part.split("=", 1) for part in redshift_warehouse.split())
    env = {
        "DATACOVES__AIRFLOW_DB_LOAD__HOST": params["host"],
        "DATACOVES__AIRFLOW_DB_LOAD__PORT": params["port"],
        "DATACOVES__AIRFLOW_DB_LOAD__USER": params["user"],
        "DATACOVES__AIRFLOW_DB_LOAD__PASSWORD": "Rs-Service-Password-77f1",
        "DATACOVES__AIRFLOW_DB_LOAD__DATABASE": params["dbname"],
        "DATACOVES__ENVIRONMENT_SLUG": "qwe123",
    }
    result = metadata.run_dag("db_sync_redshift_service", **env)
    assert result.states == {"sync_airflow_db": "success"}, result.output[-5000:]
    summary = metadata.xcom("db_sync_redshift_service", "sync_airflow_db")
    assert summary["schema"] == "airflow-qwe123" and summary["destination"] == "Redshift (airflow_db_load)"
    assert "log" in by_table(summary)
    assert "Rs-Service-Password-77f1" not in result.output
    with contextlib.closing(psycopg2.connect(redshift_warehouse)) as conn, conn.cursor() as cur:
        cur.execute('select count(*) from "airflow-qwe123".dag')
        assert cur.fetchone()[0] >= 1

    missing = {k: v for k, v in env.items() if not k.endswith("__HOST")}
    result = metadata.run_dag("db_sync_redshift_service", **missing)
    assert result.states == {"sync_airflow_db": "failed"}
    assert "Service connection 'airflow_db_load' is not available on this worker: " in result.output
    assert "DATACOVES__AIRFLOW_DB_LOAD__HOST is not set" in result.output


def test_snowflake_service_connection_fields_and_masking(monkeypatch):
    from datacoves_airflow_provider.compat import redact
    from datacoves_airflow_provider.environment import MissingEnvironmentError
    from datacoves_airflow_provider.operators.data_sync import service_connection

    for field, value in {
        "ACCOUNT": "acme-xy12345",
        "USER": "loader",
        "PASSWORD": "Sf-Service-Password-5a0c",
        "DATABASE": "RAW",
        "ROLE": "LOADER",
        "WAREHOUSE": "WH_LOAD",
    }.items():
        monkeypatch.setenv(f"DATACOVES__AIRFLOW_DB_LOAD__{field}", value)
    conn = service_connection("airflow_db_load", "snowflake")
    assert (conn.conn_type, conn.login, conn.password) == ("snowflake", "loader", "Sf-Service-Password-5a0c")
    assert conn.extra_dejson == {
        "account": "acme-xy12345",
        "database": "RAW",
        "warehouse": "WH_LOAD",
        "role": "LOADER",
    }
    assert "Sf-Service-Password-5a0c" not in str(redact("password was Sf-Service-Password-5a0c"))

    monkeypatch.setenv("DATACOVES__REDSHIFT_LOAD__HOST", "cluster.example.com")
    monkeypatch.setenv("DATACOVES__REDSHIFT_LOAD__USER", "loader")
    monkeypatch.setenv("DATACOVES__REDSHIFT_LOAD__DATABASE", "dev")
    monkeypatch.setenv("DATACOVES__REDSHIFT_LOAD__PORT", "fivefour")
    with pytest.raises(ValueError, match="DATACOVES__REDSHIFT_LOAD__PORT='fivefour' is not a port number"):
        service_connection("redshift_load", "redshift")

    monkeypatch.delenv("DATACOVES__AIRFLOW_DB_LOAD__PASSWORD")
    with pytest.raises(
        MissingEnvironmentError,
        match=r"DATACOVES__AIRFLOW_DB_LOAD__PASSWORD \(or DATACOVES__AIRFLOW_DB_LOAD__PRIVATE_KEY\)",
    ):
        service_connection("airflow_db_load", "snowflake")
