"""What the data-sync tests share: a real Airflow metadata database on PostgreSQL, the destinations,
and per-table fingerprints (row count and checksum of normalised content) on either side."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from datacoves_airflow_provider.data_sync.source import AirflowMetadataDatabase
from datacoves_airflow_provider.data_sync.table_specs import ColumnKind, TableSpec
from harness.airflow_cli import run_airflow
from harness.airflow_env import DagRunResult, airflow_env
from harness.paths import DAGS
from harness.warehouses import PG_DSN


@dataclass
class MetadataDb:
    """A migrated Airflow metadata database of this interpreter's Airflow line, and its Airflow home."""

    name: str
    home: Path
    specs: dict[str, TableSpec] = field(default_factory=dict)
    #: credential values planted in the source (as given and as stored), for leak checks
    planted: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.name}"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port=5432 user=postgres dbname={self.name}"

    def connect(self) -> Any:
        return psycopg2.connect(self.dsn)

    def sql(self, statement: str, *params: Any) -> list[tuple]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(statement, params or None)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows

    def env(self, dags_folder: Path = DAGS, **extra: str) -> dict[str, str]:
        return airflow_env(self.home, dags_folder, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.url, **extra)

    def airflow(self, *args: str, timeout: int = 600, **extra: str) -> subprocess.CompletedProcess:
        return run_airflow(args, env=self.env(**extra), timeout=timeout)

    def run_dag(self, dag_id: str, dags_folder: Path = DAGS, **extra: str) -> DagRunResult:
        proc = self.airflow("dags", "test", dag_id, **extra)
        states = dict(
            self.sql(
                "select task_id, state from task_instance where dag_id = %s and run_id = "
                "(select run_id from dag_run where dag_id = %s order by id desc limit 1)",
                dag_id,
                dag_id,
            )
        )
        return DagRunResult(proc.returncode, proc.stdout + proc.stderr, states)

    def xcom(self, dag_id: str, task_id: str) -> Any:
        """The return value of the latest run of a task (JSON on both lines' default XCom backend)."""
        rows = self.sql(
            "select x.value from xcom x join dag_run r on r.id = x.dag_run_id where x.dag_id = %s "
            "and x.task_id = %s and x.key = 'return_value' order by r.id desc limit 1",
            dag_id,
            task_id,
        )
        assert rows, f"no XCom for {dag_id}.{task_id}"
        value = rows[0][0]
        if isinstance(value, memoryview):
            value = json.loads(bytes(value).decode())
        if isinstance(value, str):
            value = json.loads(value)
        return value

    def spec(self, table: str) -> TableSpec:
        with AirflowMetadataDatabase(self.url).snapshot() as snapshot:
            return snapshot.describe(table)

    def tables(self) -> list[str]:
        with AirflowMetadataDatabase(self.url).snapshot() as snapshot:
            return sorted(t for t in snapshot.table_names() if not t.startswith("_airflow_deleted__"))


@contextlib.contextmanager
def metadata_database(tmp_path: Path) -> Iterator[MetadataDb]:
    """Create and migrate a metadata database; drop it afterwards."""
    db = MetadataDb(f"airflow_meta_{uuid.uuid4().hex[:10]}", tmp_path)
    (tmp_path / "dags").mkdir(exist_ok=True)
    with create_database(db.name):
        proc = db.airflow("db", "migrate")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        yield db


@contextlib.contextmanager
def create_database(name: str) -> Iterator[str]:
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'create database "{name}"')
        yield name
    finally:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
        admin.close()


# -- fingerprints ------------------------------------------------------------------------------


def normalise(value: Any, kind: ColumnKind) -> Any:
    """One spelling per value, whatever driver or warehouse returned it."""
    if value is None:
        return None
    if kind is ColumnKind.TIMESTAMP_TZ:
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value + ":00" if value[-3] in "+-" else value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    if kind is ColumnKind.TIMESTAMP:
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if kind is ColumnKind.JSON:
        if isinstance(value, (str, bytes)):
            value = json.loads(value)
        return json.dumps(value, sort_keys=True)
    if kind is ColumnKind.BINARY:
        if isinstance(value, str):  # hex text
            return value.removeprefix("\\x").lower()
        return bytes(value).hex()
    if kind is ColumnKind.UUID:
        return str(value).lower()
    if kind is ColumnKind.FLOAT:
        return repr(float(value))
    if kind is ColumnKind.BOOLEAN:
        return bool(value)
    if kind in (ColumnKind.SMALLINT, ColumnKind.INTEGER, ColumnKind.BIGINT):
        return int(value)
    return str(value)


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    checksum: str


def fingerprint(spec: TableSpec, rows: list[tuple]) -> Fingerprint:
    kinds = [c.kind for c in spec.columns]
    lines = sorted(json.dumps([normalise(v, k) for v, k in zip(row, kinds, strict=True)]) for row in rows)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return Fingerprint(len(lines), digest)


def select_all(
    spec: TableSpec, quote: str = '"', json_as_text: str = "{}::text", redact: bool = False
) -> str:
    """The columns, JSON ones as their text (drivers decode JSON, and a JSON string would be ambiguous);
    with ``redact``, the credential columns the sync never copies as NULL."""
    return ", ".join(
        "NULL"
        if redact and c.name in spec.redacted
        else json_as_text.format(quote + c.name + quote)
        if c.kind is ColumnKind.JSON
        else quote + c.name + quote
        for c in spec.columns
    )


def source_fingerprints(db: MetadataDb, tables: list[str]) -> dict[str, Fingerprint]:
    result = {}
    with contextlib.closing(db.connect()) as conn, conn.cursor() as cur:
        for table in tables:
            spec = db.spec(table)
            cur.execute(f'select {select_all(spec, redact=True)} from "{table}"')
            result[table] = fingerprint(spec, cur.fetchall())
    return result


def postgres_text_contains(dsn: str, schema: str, needles: list[str]) -> list[str]:
    """``table: needle`` for every needle found in any row of any table of ``schema`` (as text)."""
    found = []
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
        for (table,) in cur.fetchall():
            cur.execute(f'select t::text from "{schema}"."{table}" t')
            text = "\n".join(row[0] for row in cur.fetchall())
            found += [f"{table}: {needle}" for needle in needles if needle in text]
    return found


def postgres_fingerprints(db: MetadataDb, dsn: str, schema: str, tables: list[str]) -> dict[str, Fingerprint]:
    result = {}
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        for table in tables:
            spec = db.spec(table)
            cur.execute(f'select {select_all(spec)} from "{schema}"."{table}"')
            result[table] = fingerprint(spec, cur.fetchall())
    return result


def duckdb_fingerprints(db: MetadataDb, path: Path, schema: str, tables: list[str]) -> dict[str, Fingerprint]:
    import duckdb

    result = {}
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as conn:
        for table in tables:
            spec = db.spec(table)
            rows = conn.execute(f'select {select_all(spec)} from "{schema}"."{table}"').fetchall()
            result[table] = fingerprint(spec, rows)
    return result


def snowflake_fingerprints(
    db: MetadataDb, conn_params: dict, schema: str, tables: list[str]
) -> dict[str, Fingerprint]:
    """Through the Snowflake connector (fakesnow); timestamps as text (fakesnow reads NULL ones as 1970)."""
    import snowflake.connector

    result = {}
    with contextlib.closing(snowflake.connector.connect(**conn_params)) as conn:
        cur = conn.cursor()
        for table in tables:
            spec = db.spec(table)
            columns = ", ".join(
                f'TO_VARCHAR("{c.name}")'
                if c.kind in (ColumnKind.TIMESTAMP_TZ, ColumnKind.TIMESTAMP)
                else f'"{c.name}"'
                for c in spec.columns
            )
            cur.execute(f'select {columns} from "{schema}"."{table}"')
            result[table] = fingerprint(spec, cur.fetchall())
    return result


#: What a test PostgreSQL needs to accept the Redshift destination's SQL: Redshift's SUPER and
#: VARBYTE types and its JSON_PARSE and FROM_HEX functions (everything else it sends is plain SQL
#: both share).
REDSHIFT_SHIMS = """
create domain super as jsonb;
create domain varbyte as bytea;
create function json_parse(text) returns jsonb language sql immutable as $$ select $1::jsonb $$;
create function from_hex(text) returns bytea language sql immutable as $$ select decode($1, 'hex') $$;
"""


def work_tables_left(dsn: str, schema: str) -> list[str]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s "
            "and table_name like '\\_dcsync\\_%%'",
            (schema,),
        )
        return [r[0] for r in cur.fetchall()]


def sync_over_user_table(tmp: Path, connection: Any, user_table: str, **kwargs: Any) -> object:
    """Run the operator (``execute``, as the task runner does) from a SQLite source holding ``job``
    and ``dag_tag`` into a DuckDB schema ``analytics`` that already holds a user's ``user_table``.

    :param connection: defines an Airflow connection from fields and returns its id (the bad-input
        catalogue's ``Ctx.connection``).
    """
    import sqlite3

    import duckdb

    from datacoves_airflow_provider.operators.data_sync import DatacovesDataSyncOperator

    source, target = tmp / "source.db", tmp / "warehouse.duckdb"
    with contextlib.closing(sqlite3.connect(source)) as conn:
        for table in ("job", "dag_tag"):
            conn.execute(f'create table if not exists "{table}" (id integer primary key, v text)')
        conn.commit()
    with contextlib.closing(duckdb.connect(str(target))) as conn:
        conn.execute("create schema if not exists analytics")
        conn.execute(f'create table if not exists analytics."{user_table}" (note varchar)')
        conn.execute(f"insert into analytics.\"{user_table}\" values ('mine')")
    return DatacovesDataSyncOperator(
        task_id="t",
        db_type="duckdb",
        connection_id=connection("duck", conn_type="duckdb", host=str(target)),
        destination_schema="analytics",
        tables=["job", "dag_tag"],
        source_connection_id=connection("metadata_src", conn_type="sqlite", host=str(source)),
        **kwargs,
    ).execute({})
