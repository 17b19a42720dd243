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
from harness.airflow_cli import run_airflow
from harness.data_sync import (
    REDSHIFT_SHIMS,
    Fingerprint,
    MetadataDb,
    create_database,
    duckdb_fingerprints,
    fingerprint,
    metadata_database,
    postgres_fingerprints,
    postgres_text_contains,
    select_all,
    snowflake_fingerprints,
    source_fingerprints,
    work_tables_left,
)
from harness.metadata_seed import seed_metadata_rows
from harness.network import free_port
from harness.paths import DAGS, DEMO_REPO

from datacoves_airflow_provider.data_sync.destinations.base import DestinationError, UnmanagedTableError
from datacoves_airflow_provider.data_sync.destinations.duckdb import DuckDBDestination
from datacoves_airflow_provider.data_sync.destinations.postgres import (
    PostgresDestination,
    RedshiftDestination,
)
from datacoves_airflow_provider.data_sync.destinations.snowflake import SnowflakeDestination
from datacoves_airflow_provider.data_sync.engine import DataSync
from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase
from datacoves_airflow_provider.data_sync.table_selection import SECRET_BEARING_TABLES, TableSelection
from datacoves_airflow_provider.data_sync.table_specs import stage_table_name

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
    return pg_conn_json(dsn, conn_type="redshift", password="Rs-Sync-Password-2b9e")


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_unreachable_destination_names_the_connection(metadata, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE", pg_conn_json(f"host=127.0.0.1 port={free_port()} user=postgres dbname=x")
    )
    with pytest.raises(DestinationError) as info:
        sync(metadata, PostgresDestination("warehouse"), tables=["dag"])
    assert "Could not connect to the PostgreSQL destination of connection 'warehouse'" in str(info.value)


@pytest.mark.slow
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
from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase
from datacoves_airflow_provider.data_sync.destinations.duckdb import DuckDBDestination
from datacoves_airflow_provider.data_sync.destinations.postgres import PostgresDestination, RedshiftDestination
from datacoves_airflow_provider.data_sync.destinations.snowflake import SnowflakeDestination
from datacoves_airflow_provider.data_sync.engine import DataSync
from datacoves_airflow_provider.data_sync.table_selection import TableSelection
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


@pytest.mark.slow
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
    tables = [t for t in db.tables() if t not in SECRET_BEARING_TABLES]  # what tables=[] syncs

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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_table_asked_for_that_does_not_exist_fails_before_writing(metadata, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    conn = json.dumps({"conn_type": "duckdb", "host": str(path)})
    result = metadata.run_dag("db_sync_missing_table", AIRFLOW_CONN_WAREHOUSE=conn)
    assert result.states == {"sync_airflow_db": "failed"}, result.output[-4000:]
    assert "do not exist in this Airflow's metadata database: dag_pickles" in result.output
    assert not path.exists()  # nothing was written, not even the file


@pytest.mark.slow
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


# -- data safety: tables the sync did not create, work-table names, concurrent first syncs -----------

#: Two table names that share their first 48 characters (the old work-table names cut them there).
LONG_NAMES = ["x" * 48 + "_first_table_a", "x" * 48 + "_second_table"]


@pytest.fixture
def small_source() -> Iterator[str]:
    """A small PostgreSQL source (the sync reads any tables): ``job``, ``dag_tag`` and two tables
    whose names share their first 48 characters, each with different rows."""
    name = f"sync_source_{uuid.uuid4().hex[:10]}"
    with create_database(name):
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            for offset, table in enumerate(["job", "dag_tag", *LONG_NAMES]):
                cur.execute(f'create table "{table}" (id integer primary key, v text)')
                cur.execute(
                    f"insert into \"{table}\" select i, '{table}:' || i from generate_series(1, {10 + offset}) i"
                )
            conn.commit()
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"


def source_rows(url: str, table: str) -> list[tuple]:
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=" + url.rsplit("/", 1)[1]
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(f'select id, v from "{table}" order by id')
        return cur.fetchall()


def plain_sync(url: str, destination, schema: str, tables: list[str], **kwargs) -> dict:
    selection = TableSelection.from_arguments(tables, None)
    return DataSync(AirflowMetadataDatabase(url), destination, schema, selection, **kwargs).run().as_dict()


class Warehouse:
    """A destination of one kind and plain SQL on it (quoted identifiers: the same on all three)."""

    def __init__(self, kind: str, request, tmp_path: Path, monkeypatch) -> None:
        self.kind = kind
        if kind == "postgres":
            self.dsn = request.getfixturevalue("pg_warehouse")
            monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_conn_json(self.dsn))
        elif kind == "redshift":
            self.dsn = request.getfixturevalue("redshift_warehouse")
            monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", redshift_conn(self.dsn))
        elif kind == "duckdb":
            self.path = str(tmp_path / "warehouse.duckdb")
        else:
            server = request.getfixturevalue("fakesnow")
            conn, self.params = snowflake_conn(server.port, f"DB_{uuid.uuid4().hex[:8]}")
            monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", conn)

    def destination(self):
        if self.kind == "postgres":
            return PostgresDestination("warehouse")
        if self.kind == "redshift":
            return RedshiftDestination("warehouse")
        if self.kind == "duckdb":
            return DuckDBDestination("warehouse", path=self.path)
        return SnowflakeDestination("warehouse")

    def sql(self, *statements: str) -> list[tuple]:
        rows: list[tuple] = []
        if self.kind in ("postgres", "redshift"):
            with contextlib.closing(psycopg2.connect(self.dsn)) as conn, conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
                    rows = cur.fetchall() if cur.description else []
                conn.commit()
        elif self.kind == "duckdb":
            import duckdb

            with contextlib.closing(duckdb.connect(self.path)) as conn:
                for statement in statements:
                    rows = conn.execute(statement).fetchall()
        else:
            import snowflake.connector

            with contextlib.closing(snowflake.connector.connect(**self.params)) as conn:
                cur = conn.cursor()
                for statement in statements:
                    cur.execute(statement)
                    rows = cur.fetchall() if cur.description else []
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("kind", ["postgres", "duckdb", "snowflake", "redshift"])
def test_a_table_the_sync_did_not_create_is_never_replaced_or_dropped(
    small_source, kind, tmp_path, monkeypatch, request
):
    """A user's own ``job`` in the destination schema stops the sync (naming the table, the schema
    and the opt-in) with nothing written; so does a user table named like a work table, which no
    option lets the sync drop. With replace_unmanaged_tables=True the table is replaced, and from
    then on it is the sync's."""
    warehouse = Warehouse(kind, request, tmp_path, monkeypatch)
    id_type = "serial" if kind == "postgres" else "integer"
    # fakesnow lacks ALTER TABLE ... SWAP WITH, which replacing a table with other columns uses
    note = "v" if kind == "snowflake" else "note"
    warehouse.sql(
        'create schema "analytics"',
        f'create table "analytics"."job" ("id" {id_type}, "{note}" varchar(20))',
        f"""insert into "analytics"."job" ("id", "{note}") values (1, 'mine')""",
        'create table "analytics"."_dcsync_stage__dag_tag" ("id" integer)',
        'insert into "analytics"."_dcsync_stage__dag_tag" ("id") values (7)',
    )

    with pytest.raises(UnmanagedTableError) as info:
        plain_sync(small_source, warehouse.destination(), "analytics", ["dag_tag", "job"])
    message = str(info.value)
    assert "Schema 'analytics'" in message and "table(s) 'job'" in message, message
    assert "replace_unmanaged_tables=True" in message and "connection 'warehouse'" in message
    assert warehouse.sql(f'select "id", "{note}" from "analytics"."job"') == [(1, "mine")]
    if kind == "postgres":  # the table's sequence is still there
        assert warehouse.sql("select nextval('analytics.job_id_seq')") == [(1,)]

    with pytest.raises(UnmanagedTableError) as info:
        plain_sync(small_source, warehouse.destination(), "analytics", ["dag_tag"])
    assert "Table '_dcsync_stage__dag_tag' in schema 'analytics'" in str(info.value)
    assert "the sync did not create it" in str(info.value)
    with pytest.raises(UnmanagedTableError):  # not even with the opt-in, which is about synced tables
        plain_sync(
            small_source, warehouse.destination(), "analytics", ["dag_tag"], replace_unmanaged_tables=True
        )
    assert warehouse.sql('select "id" from "analytics"."_dcsync_stage__dag_tag"') == [(7,)]
    assert not warehouse.sql(  # nothing of dag_tag was created
        "select table_name from information_schema.tables where table_schema = 'analytics' "
        "and table_name = 'dag_tag'"
    )

    summary = by_table(
        plain_sync(small_source, warehouse.destination(), "analytics", ["job"], replace_unmanaged_tables=True)
    )
    assert summary["job"]["reason"] == "replacing a table the sync did not create", summary
    assert sorted(warehouse.sql('select "id", "v" from "analytics"."job"')) == source_rows(
        small_source, "job"
    )

    # the sync's own table from now on: later runs need no opt-in, and the user's table is untouched
    summary = by_table(plain_sync(small_source, warehouse.destination(), "analytics", ["job"]))
    assert summary["job"]["mode"] == "full" and summary["job"]["reason"] == "small table"
    assert sorted(warehouse.sql('select "id", "v" from "analytics"."job"')) == source_rows(
        small_source, "job"
    )
    assert warehouse.sql('select "id" from "analytics"."_dcsync_stage__dag_tag"') == [(7,)]
    # no work table of the sync is left, and no record of one
    tables = {
        r[0]
        for r in warehouse.sql(
            "select table_name from information_schema.tables where table_schema = 'analytics'"
        )
    }
    assert tables == {"job", "_dcsync_stage__dag_tag", "_datacoves_sync_state"}, tables
    assert warehouse.sql('select "table_name" from "analytics"."_datacoves_sync_state"') == [("job",)]


@pytest.mark.parametrize("kind", ["postgres", "duckdb"])
def test_two_tables_sharing_a_long_prefix_get_their_own_work_tables(
    small_source, kind, tmp_path, monkeypatch, request
):
    assert len({stage_table_name(t) for t in LONG_NAMES}) == 2
    assert all(len(stage_table_name(t, purpose)) <= 63 for t in LONG_NAMES for purpose in ("stage", "keys"))
    warehouse = Warehouse(kind, request, tmp_path, monkeypatch)
    for _ in range(2):  # a first sync and a later one
        plain_sync(small_source, warehouse.destination(), SCHEMA, LONG_NAMES)
        for table in LONG_NAMES:
            rows = sorted(warehouse.sql(f'select "id", "v" from "{SCHEMA}"."{table}"'))
            assert rows == source_rows(small_source, table), table


@pytest.mark.parametrize("kind", ["postgres", "redshift"])
def test_two_first_syncs_into_a_new_schema_at_once(small_source, kind, tmp_path, monkeypatch, request):
    """The first sync holds its transaction open (paused in its logger, after creating the schema);
    the second starts meanwhile. On PostgreSQL it waits for the first and both succeed; Redshift has
    no advisory locks, so the second gives way with an error that says what happened and what to do
    (instead of PostgreSQL's raw duplicate-key error on CREATE SCHEMA IF NOT EXISTS)."""
    import threading

    warehouse = Warehouse(kind, request, tmp_path, monkeypatch)
    pg_warehouse = warehouse.dsn
    inside, release = threading.Event(), threading.Event()

    class PausingLog:
        def info(self, message: str, *args) -> None:
            if message.startswith("%s: %s (%s)") and not inside.is_set():
                inside.set()
                release.wait(120)

        def warning(self, message: str, *args) -> None:
            pass

    errors: list[BaseException] = []

    def run(logger) -> None:
        try:
            selection = TableSelection.from_arguments(["job", "dag_tag"], None)
            DataSync(
                AirflowMetadataDatabase(small_source), warehouse.destination(), "fresh", selection,
                logger=logger,
            ).run()  # fmt: skip
        except BaseException as error:
            errors.append(error)

    first = threading.Thread(target=run, args=(PausingLog(),))
    first.start()
    assert inside.wait(120), errors
    second = threading.Thread(target=run, args=(None,))
    second.start()
    deadline = time.monotonic() + 60
    with contextlib.closing(psycopg2.connect(pg_warehouse)) as conn, conn.cursor() as cur:
        conn.autocommit = True
        while True:  # the second sync is blocked behind the first one's transaction
            cur.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock'"
            )
            if cur.fetchone()[0] or not second.is_alive():
                break
            assert time.monotonic() < deadline, "the second sync never reached the destination"
            time.sleep(0.05)
    release.set()
    first.join(120)
    second.join(120)
    if kind == "redshift":
        assert len(errors) == 1 and isinstance(errors[0], DestinationError), errors
        message = str(errors[0])
        assert "another data sync created schema 'fresh'" in message, message
        assert "max_active_runs=1" in message and "the next run of this task will succeed" in message
    else:
        assert errors == []
    for table in ("job", "dag_tag"):
        with contextlib.closing(psycopg2.connect(pg_warehouse)) as conn, conn.cursor() as cur:
            cur.execute(f'select id, v from fresh."{table}" order by id')
            assert cur.fetchall() == source_rows(small_source, table)


# -- a SQLite metadata database (the laptop's) ------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_metadata(tmp_path_factory) -> Iterator[str]:
    """A real SQLite metadata database: migrated by this Airflow line, filled by a real DAG run."""
    from harness.airflow_env import airflow_env

    home = tmp_path_factory.mktemp("sqlite_home")
    env = airflow_env(home, DAGS, TRIES_FILE=str(home / "tries"), DATACOVES__REPO_PATH=str(DEMO_REPO))
    for args in (("db", "migrate"), ("dags", "test", "populate_metadata")):
        proc = run_airflow(args, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield f"sqlite:///{home / 'airflow.db'}"


def sqlite_source_fingerprints(url: str, tables: list[str]) -> dict[str, Fingerprint]:
    import sqlite3

    result = {}
    with AirflowMetadataDatabase(url).snapshot() as snapshot:
        specs = {table: snapshot.describe(table) for table in tables}
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        for table, spec in specs.items():
            rows = conn.execute(f'select {select_all(spec, json_as_text="{}", redact=True)} from "{table}"')
            result[table] = fingerprint(spec, rows.fetchall())
    return result


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgres", "duckdb"])
def test_a_sqlite_metadata_database_syncs_exactly(sqlite_metadata, kind, tmp_path, monkeypatch, request):
    """Booleans (stored as 0/1), timestamps (ISO text), JSON and pickles of a SQLite metadata database
    arrive typed as declared, and every table is an exact copy, after a first and a later sync."""
    with AirflowMetadataDatabase(sqlite_metadata).snapshot() as snapshot:
        tables = sorted(t for t in snapshot.table_names() if not t.startswith("_airflow_deleted__"))
        specs = {table: snapshot.describe(table) for table in tables}
    assert {"dag", "dag_run", "task_instance", "xcom", "slot_pool"} <= set(tables)
    warehouse = Warehouse(kind, request, tmp_path, monkeypatch)
    for _ in range(2):
        summary = by_table(plain_sync(sqlite_metadata, warehouse.destination(), SCHEMA, tables))
        assert summary["task_instance"]["rows_total"] >= 5, summary["task_instance"]
        copied = {}
        for table in tables:
            rows = warehouse.sql(f'select {select_all(specs[table])} from "{SCHEMA}"."{table}"')
            copied[table] = fingerprint(specs[table], rows)
        assert copied == sqlite_source_fingerprints(sqlite_metadata, tables)
    paused = warehouse.sql(f'select "is_paused" from "{SCHEMA}"."dag" where "dag_id" = \'populate_metadata\'')
    if paused:  # Airflow 2.11's `dags test` leaves the dag table empty
        assert isinstance(paused[0][0], bool)
    assert isinstance(warehouse.sql(f'select "include_deferred" from "{SCHEMA}"."slot_pool"')[0][0], bool)


# -- what tables=[] leaves out, and the credentials it never copies ----------------------------------

#: Planted in Airflow 3's connection-test requests and callbacks (Airflow 2.11 has neither table).
PLANTED_AIRFLOW3 = ["Planted-TestConn-Password-4e1b", "Planted-TestConn-Extra-8d2a", "Planted-Test-Token-0c5f",
                    "Planted-Callback-Secret-77aa"]  # fmt: skip


@pytest.mark.slow
def test_every_table_leaves_out_tables_that_may_hold_secrets_and_never_copies_credentials(
    metadata, pg_warehouse, monkeypatch
):
    """tables=[] syncs every table except xcom, rendered_task_instance_fields, log and the state
    stores (named in additional_tables, they are synced); credential columns arrive NULL, among them
    Airflow 3's connection-test requests (password, extra, token) and callback arguments."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_conn_json(pg_warehouse))
    existing = set(metadata.tables())
    planted = list(metadata.planted)
    if "connection_test_request" in existing:
        metadata.sql(
            "insert into connection_test_request (id, token, connection_id, state, created_at, updated_at, "
            "conn_type, host, password, extra) values (gen_random_uuid(), %s, 'planted', 'pending', now(), "
            "now(), 'postgres', 'db.example.com', %s, %s)",
            PLANTED_AIRFLOW3[2], PLANTED_AIRFLOW3[0], json.dumps({"key": PLANTED_AIRFLOW3[1]}),
        )  # fmt: skip
        metadata.sql(
            "insert into callback (id, type, fetch_method, data, priority_weight, created_at) values "
            "(gen_random_uuid(), 'triggerer', 'import_path', %s, 1, now())",
            json.dumps({"path": "x.notify", "kwargs": {"token": PLANTED_AIRFLOW3[3]}}),
        )
        planted += PLANTED_AIRFLOW3
    summary = sync(metadata, PostgresDestination("warehouse"), tables=[])
    synced = set(by_table(summary))
    withheld = {"xcom", "rendered_task_instance_fields", "log", "task_state_store", "asset_state_store"}
    assert summary["withheld"] == sorted(withheld & existing)
    assert synced == existing - withheld
    with contextlib.closing(psycopg2.connect(pg_warehouse)) as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = %s", (SCHEMA,))
        assert not withheld & {r[0] for r in cur.fetchall()}
    assert postgres_text_contains(pg_warehouse, SCHEMA, planted) == []
    if "connection_test_request" in existing:
        assert by_table(summary)["connection_test_request"]["redacted"] == ["password", "extra", "token"]
        assert by_table(summary)["callback"]["redacted"] == ["data"]

    # named, they are synced
    summary = sync(metadata, PostgresDestination("warehouse"), tables=[], additional_tables=["xcom", "log"])
    assert {"xcom", "log"} <= set(by_table(summary)) and "xcom" not in summary["withheld"]
