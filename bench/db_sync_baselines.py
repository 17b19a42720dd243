"""Baselines for bench/db_sync.py: one timed full-replace load of a PostgreSQL table, by a method not ours.

  dlt    dlt's sql_table source, backend="pyarrow", write_disposition="replace", dlt's defaults otherwise
         (chunk_size=50000, reflection_level="full", no loader_file_format override, no ADBC driver).
         For postgres, dlt picks its csv writer, which fails on bytea holding non-UTF-8 bytes, so by default
         the bytea->\\x<hex> map its error message asks for is added (--dlt-pg-format insert_values instead).
  floor  PostgreSQL's own COPY ... TO STDOUT streamed into the destination's bulk load:
         postgres: COPY ... FROM STDIN into a table created fresh from the source's column types
                   (pg_catalog.format_type); binary COPY by default (--copy-format text). --floor-impl
                   psycopg2 (default) streams through an os.pipe between two connections; psql pipes 2 psqls.
         duckdb:   COPY ... TO STDOUT (FORMAT csv) into a temporary CSV file, then DuckDB CREATE TABLE ... AS
                   SELECT ... FROM read_csv(...) with explicit column types; the file is removed.

The destination is <dest-schema>.<table>. Before the timed load, it and dlt's state tables there (_dlt_loads,
_dlt_pipeline_state, _dlt_version) are dropped, unless --keep-existing. Prints one JSON line on stdout:
  {"method": ..., "dest": ..., "rows": <count(*) in the destination after the load>, "seconds": <wall s>, ...}
with extra keys: floor "impl"/"format"; dlt "file_format" and per-step "steps". "seconds" covers the load
(connect, reflect/create, copy, commit), not interpreter start, imports or the final count.
Run with the bench venv (requirements/bench.lock):

  .venvs/bench/bin/python bench/db_sync_baselines.py dlt \\
      --source-dsn postgresql://postgres@127.0.0.1:5432/SRC --table task_instance \\
      --dest postgres --dest-dsn postgresql://postgres@127.0.0.1:5432/DST --dest-schema airflow_bench
  .venvs/bench/bin/python bench/db_sync_baselines.py floor ... --dest duckdb --dest-path /tmp/x.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_PSQL = ("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1")
# Source session settings whose CSV text DuckDB's read_csv parses as typed (timestamptz in UTC, intervals).
_CSV_SESSION = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres"


def _qi(name: str) -> str:
    """Quote an SQL identifier (PostgreSQL and DuckDB use the same rules)."""
    return '"' + name.replace('"', '""') + '"'


# --- dlt ---------------------------------------------------------------------------------------------


def _sqlalchemy_url(dsn: str) -> str:
    """Name the driver: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg (3), absent from this venv."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg2://" + dsn[len(prefix) :]
    return dsn


def _hex_binary_columns(table):
    """Arrow map: binary columns -> PostgreSQL's \\x<hex> bytea text, still typed binary."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            values = [None if v is None else b"\\x" + v.hex().encode() for v in table[i].to_pylist()]
            table = table.set_column(i, field, pa.array(values, type=field.type))
    return table


def run_dlt(args: argparse.Namespace) -> dict:
    workdir = tempfile.mkdtemp(prefix="dlt_baseline_")
    # Before importing dlt: keep every file it writes (pipeline working dirs, settings lookups) inside
    # workdir, and switch its telemetry off.
    os.environ.update(
        DLT_DATA_DIR=workdir,
        DLT_PROJECT_DIR=workdir,
        DLT_LOCAL_DIR=workdir,
        RUNTIME__DLTHUB_TELEMETRY="false",
        RUNTIME__LOG_LEVEL=os.environ.get("RUNTIME__LOG_LEVEL", "WARNING"),
    )
    try:
        import dlt
        import dlt.common.runtime.run_context as dlt_run_context
        from dlt.sources.sql_database import sql_table

        # Even with telemetry off, dlt writes <global dir>/.anonymous_id (/var/dlt as root, else ~/.dlt)
        # when it builds its trace; no env var moves the global dir for root, so point it at workdir.
        dlt_run_context.global_dir = lambda: workdir
        if args.dest == "postgres":
            from dlt.destinations.impl.postgres.configuration import PostgresCredentials

            credentials = PostgresCredentials(args.dest_dsn)
            if credentials.password is None:  # dlt insists on one; "" suits trust/peer/.pgpass auth
                credentials.password = ""
            destination = dlt.destinations.postgres(credentials=credentials)
        else:
            destination = dlt.destinations.duckdb(credentials=args.dest_path)
        t0 = time.perf_counter()
        resource = sql_table(
            credentials=_sqlalchemy_url(args.source_dsn),
            table=args.table,
            schema=args.source_schema,
            backend="pyarrow",  # chunk_size (50000) and reflection_level ("full") left at dlt's defaults
        )
        pipeline = dlt.pipeline(
            pipeline_name="db_sync_baseline",
            pipelines_dir=os.path.join(workdir, "pipelines"),
            destination=destination,
            dataset_name=args.dest_schema,
            progress=None,
        )
        run_kwargs = {}
        if args.dest == "postgres" and args.dlt_pg_format == "insert_values":
            run_kwargs["loader_file_format"] = "insert_values"
        elif args.dest == "postgres":
            # dlt's default for arrow -> postgres is its csv writer (pyarrow's), which fails on bytea
            # holding non-UTF-8 bytes (task_instance.executor_config is a pickle). The workaround dlt's
            # error message gives: replace binary content with its \x<hex> text, keeping the binary type.
            resource.add_map(_hex_binary_columns)
        info = pipeline.run(resource, write_disposition="replace", table_name=args.table, **run_kwargs)
        info.raise_on_failed_jobs()
        seconds = time.perf_counter() - t0
        steps = {
            step.step: round((step.finished_at - step.started_at).total_seconds(), 3)
            for step in pipeline.last_trace.steps
            if step.step in ("extract", "normalize", "load")
        }
        jobs = [job for pkg in info.load_packages for job in pkg.jobs["completed_jobs"]]
        formats = sorted({job.job_file_info.file_format for job in jobs})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"seconds": seconds, "file_format": ",".join(formats), "steps": steps}


# --- floor -------------------------------------------------------------------------------------------

_PG_SOURCE_COLUMNS = """
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, t.typname, t.typcategory
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def _source_columns(src_conn, relation: str) -> list[tuple]:
    with src_conn.cursor() as cur:
        cur.execute(_PG_SOURCE_COLUMNS, (relation,))
        cols = cur.fetchall()
    if not cols:
        raise SystemExit(f"no columns found for {relation}")
    return cols


def _floor_postgres(args: argparse.Namespace, src_rel: str, dst_rel: str) -> None:
    import psycopg2

    fmt = "(FORMAT binary)" if args.copy_format == "binary" else ""
    copy_out = f"COPY (SELECT * FROM {src_rel}) TO STDOUT {fmt}"
    copy_in = f"COPY {dst_rel} FROM STDIN {fmt}"
    src = psycopg2.connect(args.source_dsn)
    dst = psycopg2.connect(args.dest_dsn)
    try:
        cols = _source_columns(src, src_rel)
        ddl = ",\n  ".join(f"{_qi(c[0])} {c[1]}{' NOT NULL' if c[2] else ''}" for c in cols)
        with dst.cursor() as cur:  # replace: drop + create (+ copy for psycopg2) in one transaction
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_qi(args.dest_schema)}")
            cur.execute(f"DROP TABLE IF EXISTS {dst_rel}")
            cur.execute(f"CREATE TABLE {dst_rel} (\n  {ddl}\n)")
        if args.floor_impl == "psql":
            dst.commit()
            out = subprocess.Popen([*_PSQL, "-d", args.source_dsn, "-c", copy_out], stdout=subprocess.PIPE)
            inp = subprocess.run([*_PSQL, "-d", args.dest_dsn, "-c", copy_in], stdin=out.stdout)
            out.stdout.close()
            if out.wait() or inp.returncode:
                raise SystemExit(f"psql COPY pipe failed (exit {out.returncode}, {inp.returncode})")
            return
        # psycopg2: the source COPY writes into an os.pipe from a thread, the destination COPY reads it.
        rfd, wfd = os.pipe()
        errors: list[BaseException] = []

        def produce() -> None:
            try:
                with os.fdopen(wfd, "wb", buffering=1 << 20) as w, src.cursor() as cur:
                    cur.copy_expert(copy_out, w)
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        producer = threading.Thread(target=produce, name="copy-out")
        producer.start()
        try:
            with os.fdopen(rfd, "rb", buffering=0) as r, dst.cursor() as cur:
                cur.copy_expert(copy_in, r, size=1 << 20)
        finally:
            producer.join()
        if errors:
            raise errors[0]
        dst.commit()
    finally:
        src.close()
        dst.close()


# PostgreSQL type name (pg_type.typname) -> DuckDB type for read_csv; anything else is read as VARCHAR.
_PG_TO_DUCKDB = {
    "int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT", "float4": "REAL", "float8": "DOUBLE",
    "bool": "BOOLEAN", "text": "VARCHAR", "varchar": "VARCHAR", "bpchar": "VARCHAR", "name": "VARCHAR",
    "uuid": "UUID", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
    "interval": "INTERVAL", "json": "JSON", "jsonb": "JSON", "oid": "BIGINT",
}  # fmt: skip


def _duckdb_column(name: str, pg_type: str, typname: str) -> tuple[str, str]:
    """(type to read the CSV column as, select expression producing the final column)."""
    q = _qi(name)
    if typname == "bytea":  # PostgreSQL writes bytea as \x<hex>
        return "VARCHAR", f"unhex(substr({q}, 3)) AS {q}"
    if typname == "numeric":
        inner = pg_type[pg_type.find("(") + 1 : -1] if "(" in pg_type else ""
        precision = int(inner.split(",")[0]) if inner else 0
        duck = f"DECIMAL({inner})" if inner and precision <= 38 else "DOUBLE"
        return duck, q
    return _PG_TO_DUCKDB.get(typname, "VARCHAR"), q


def _floor_duckdb(args: argparse.Namespace, src_rel: str) -> None:
    import duckdb
    import psycopg2

    fd, csv_path = tempfile.mkstemp(prefix="floor_", suffix=".csv")
    os.close(fd)
    try:
        copy_out = f"COPY (SELECT * FROM {src_rel}) TO STDOUT WITH (FORMAT csv)"
        src = psycopg2.connect(args.source_dsn, options=_CSV_SESSION)
        try:
            cols = _source_columns(src, src_rel)
            if args.floor_impl == "psql":
                src.commit()
                env = dict(os.environ, PGOPTIONS=_CSV_SESSION)
                cmd = [*_PSQL, "-d", args.source_dsn, "-c", copy_out]
                with open(csv_path, "wb") as f:
                    subprocess.run(cmd, stdout=f, env=env, check=True)
            else:
                with open(csv_path, "wb", buffering=1 << 20) as f, src.cursor() as cur:
                    cur.copy_expert(copy_out, f)
        finally:
            src.close()
        read_types, selects = [], []
        for name, pg_type, _notnull, typname, _cat in cols:
            duck, expr = _duckdb_column(name, pg_type, typname)
            read_types.append("'" + name.replace("'", "''") + f"': '{duck}'")
            selects.append(expr)
        path_lit = "'" + csv_path.replace("'", "''") + "'"
        con = duckdb.connect(args.dest_path)
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_qi(args.dest_schema)}")
            con.execute(
                f"CREATE OR REPLACE TABLE {_qi(args.dest_schema)}.{_qi(args.table)} AS "
                f"SELECT {', '.join(selects)} "
                f"FROM read_csv({path_lit}, header = false, delim = ',', quote = '\"', escape = '\"', "
                f"nullstr = '', allow_quoted_nulls = false, auto_detect = false, "
                f"columns = {{{', '.join(read_types)}}})"
            )
        finally:
            con.close()
    finally:
        os.unlink(csv_path)


def run_floor(args: argparse.Namespace) -> dict:
    src_rel = f"{_qi(args.source_schema)}.{_qi(args.table)}"
    t0 = time.perf_counter()
    if args.dest == "postgres":
        _floor_postgres(args, src_rel, f"{_qi(args.dest_schema)}.{_qi(args.table)}")
        extra = {"format": args.copy_format}
    else:
        _floor_duckdb(args, src_rel)
        extra = {"format": "csv"}
    return {"seconds": time.perf_counter() - t0, "impl": args.floor_impl, **extra}


# --- main --------------------------------------------------------------------------------------------


_DLT_STATE_TABLES = ("_dlt_loads", "_dlt_pipeline_state", "_dlt_version")


def preclean(args: argparse.Namespace) -> None:
    """Untimed: drop <dest-schema>.<table> and dlt's state tables there, so each run is the same first load
    (else dlt would reuse a table another method made, or trust its stored schema for a dropped table)."""
    names = (args.table, *_DLT_STATE_TABLES)
    stmts = [f"DROP TABLE IF EXISTS {_qi(args.dest_schema)}.{_qi(n)}" for n in names]
    if args.dest == "postgres":
        import psycopg2

        with psycopg2.connect(args.dest_dsn) as conn, conn.cursor() as cur:
            for stmt in stmts:
                cur.execute(stmt)
        conn.close()
    elif Path(args.dest_path).exists():
        import duckdb

        with duckdb.connect(args.dest_path) as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_qi(args.dest_schema)}")
            for stmt in stmts:
                con.execute(stmt)


def count_rows(args: argparse.Namespace) -> int:
    sql = f"SELECT count(*) FROM {_qi(args.dest_schema)}.{_qi(args.table)}"
    if args.dest == "postgres":
        import psycopg2

        with psycopg2.connect(args.dest_dsn) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    import duckdb

    with duckdb.connect(args.dest_path, read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("method", choices=["dlt", "floor"])
    p.add_argument("--source-dsn", required=True, help="postgresql://user@host:port/db")
    p.add_argument("--source-schema", default="public")
    p.add_argument("--table", required=True)
    p.add_argument("--dest", required=True, choices=["postgres", "duckdb"])
    p.add_argument("--dest-dsn", help="postgresql://... (for --dest postgres)")
    p.add_argument("--dest-path", help="DuckDB file (for --dest duckdb)")
    p.add_argument("--dest-schema", default="airflow_bench")
    p.add_argument("--copy-format", choices=["binary", "text"], default="binary", help="floor, postgres only")
    p.add_argument(
        "--dlt-pg-format",
        choices=["csv-hex", "insert_values"],
        default="csv-hex",
        help="dlt, postgres only: dlt's csv writer + the bytea->hex map it asks for, or insert_values",
    )
    p.add_argument("--floor-impl", choices=["psycopg2", "psql"], default="psycopg2", help="floor's COPY pipe")
    p.add_argument(
        "--keep-existing",
        action="store_true",
        help="skip the untimed drop of the destination table and dlt's _dlt_* tables before the load",
    )
    args = p.parse_args(argv)
    if args.dest == "postgres" and not args.dest_dsn:
        p.error("--dest postgres needs --dest-dsn")
    if args.dest == "duckdb" and not args.dest_path:
        p.error("--dest duckdb needs --dest-path")
    if not args.keep_existing:
        preclean(args)
    result = run_dlt(args) if args.method == "dlt" else run_floor(args)
    rows = count_rows(args)
    out = {"method": args.method, "dest": args.dest, "rows": rows, "seconds": round(result.pop("seconds"), 3)}
    out.update(result)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
