"""Warehouses and cloud services on 127.0.0.1: the local PostgreSQL server, moto's AWS server and
fakesnow's Snowflake server (both from the dbt/tools virtualenv)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.network import free_port, wait_for_port
from harness.paths import DBT_VENV

#: The local PostgreSQL server's maintenance database.
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextlib.contextmanager
def new_pg_database(prefix: str = "dbt_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server (its name), dropped afterwards.

    :param prefix: the start of the database's name.
    """
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'create database "{name}"')
        yield name
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
    finally:
        admin.close()


@contextlib.contextmanager
def running_moto_server(folder: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1 (from the tools venv); yields its endpoint URL.

    :param folder: where its log goes.
    """
    moto = DBT_VENV / "bin" / "moto_server"
    assert moto.exists(), f"{moto} is missing: build the tools venv with scripts/bootstrap.sh dbt"
    port = free_port()
    log = folder / "moto.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, 60, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def aws_connection(endpoint: str) -> str:
    """An Airflow AWS connection (JSON) that talks to moto's server."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"region_name": "us-east-1", "endpoint_url": endpoint},
        }
    )


@dataclass
class Fakesnow:
    """fakesnow's server (Snowflake's HTTP protocol over an in-memory DuckDB) on 127.0.0.1."""

    port: int
    log: Path


@contextlib.contextmanager
def running_fakesnow(venv: Path, folder: Path) -> Iterator[Fakesnow]:
    """fakesnow's server on a free port; its log shows each login's warehouse and role.

    :param venv: the virtualenv with fakesnow (the dbt one).
    :param folder: where its log goes.
    """
    import pytest

    server = Fakesnow(free_port(), folder / "server.log")
    with server.log.open("w") as log:
        proc = subprocess.Popen(
            [str(venv / "bin" / "fakesnow"), "-s", "-p", str(server.port), "--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"fakesnow exited with code {proc.returncode}:\n{server.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"fakesnow did not listen on port {server.port} in 30 s:\n{server.log.read_text()}"
                    )
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
