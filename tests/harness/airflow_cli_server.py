"""The warm process behind :mod:`harness.airflow_cli`: imports Airflow once, then forks one process per
``airflow`` command, which runs Airflow's own CLI entry point with that command's environment.

Run by :mod:`harness.airflow_cli` with the interpreter of the Airflow venv, the environment of the
first command of one Airflow configuration, and a private folder::

    python airflow_cli_server.py <folder> <airflow script> <the first command's subcommand>

It writes what Airflow printed while it was imported (and while the execution API was built, before
the first ``dags test``) to ``<folder>/warm.out`` and ``warm.err`` (each command's output starts
with it, as a fresh process's would), then listens on ``<folder>/socket``.
A request is one JSON line: ``argv`` (the command line, ``airflow`` first), ``env``, ``cwd`` and the
``stdout`` / ``stderr`` files to write. For each, a forked supervisor forks the command, answers
``{"pid": ...}``, waits for it and answers ``{"returncode": ..., "cpu": ...}`` (the return code as
:mod:`subprocess` gives it: negative for a signal). The server exits when its parent test process
is gone. It imports nothing from the tests: only the standard library before Airflow.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import traceback

#: imported before the first fork, on the lines that have them (a missing one is skipped)
WARM_MODULES = (
    "airflow.__main__",
    "airflow.cli.cli_parser",
    "airflow.cli.commands.dag_command",
    "airflow.cli.commands.db_command",
    "airflow.cli.commands.task_command",
    "airflow.models.dagbag",
    "airflow.models.taskinstance",
    "airflow.models.dagrun",
    "airflow.providers.standard.operators.bash",
    "airflow.providers.standard.operators.python",
    "airflow.providers.common.compat.sdk",
    "airflow.sdk",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.api_fastapi.execution_api.app",
    "airflow.operators.bash",
    "airflow.operators.python",
    "airflow.decorators",
)


def warm_up() -> None:
    """Import Airflow and what its commands use."""
    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def warm_up_execution_api() -> None:
    """On Airflow 3, build the in-process execution API (before the first ``airflow dags test``).

    ``airflow dags test`` on Airflow 3 spends most of its CPU in that API's first request, generating
    its versioned routes (Cadwyn). Airflow keeps the API in a process-wide cache
    (``supervisor.in_process_api_server``); filling it here, before any thread or connection exists,
    gives each fork the app a long-lived Airflow process would have. The API's event-loop thread and
    its lifespan start in the fork, at its first request, as always. A server that never runs
    ``dags test`` (a cluster's, which triggers runs) never builds it.
    """
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:
        return  # Airflow 2: tasks run in the `dags test` process itself, no execution API
    app = supervisor.in_process_api_server().app
    if not getattr(app, "_cadwyn_initialized", True):
        app._cadwyn_initialize()
    sys.stdout.flush()
    sys.stderr.flush()


def run_command(request: dict) -> None:
    """In the forked command process: become the command, run Airflow's CLI, exit as it would."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # TMPDIR as the command's environment says
    stdin = os.open(os.devnull, os.O_RDONLY)
    stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)
    for name, fd in (("warm.out", 1), ("warm.err", 2)):
        with open(os.path.join(request["folder"], name), "rb") as warm:
            os.write(fd, warm.read())
    sys.argv = list(request["argv"])
    _forget_inherited_connections()
    code = 0
    try:
        from airflow.__main__ import main

        main()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # as interpreter exit does
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _forget_inherited_connections() -> None:
    """Drop (without closing) any database connection the server's pools hold: they are its own."""
    try:
        from airflow import settings
    except ImportError:
        return
    for name in ("engine", "async_engine"):
        engine = getattr(settings, name, None)
        if engine is not None:
            with contextlib.suppress(Exception):
                (engine.sync_engine if name == "async_engine" else engine).dispose(close=False)


def read_request(conn: socket.socket) -> dict | None:
    """One request: a JSON line (None if the client went away)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def supervise(conn: socket.socket, request: dict) -> None:
    """In a forked supervisor: fork the request's command, report its pid and its end."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        run_command(request)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status, usage = os.wait4(pid, 0)
    reply = {"returncode": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}
    conn.sendall(json.dumps(reply).encode() + b"\n")


def main() -> None:
    folder, airflow_bin, first_subcommand = sys.argv[1:4]
    parent = os.getppid()
    sys.path[0] = os.path.dirname(airflow_bin)  # as the `airflow` script has it, not tests/harness
    for name, fd in (("warm.out", 1), ("warm.err", 2)):
        out = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    if first_subcommand not in ("version", "lazy_loaded"):
        # what the `airflow` command does before any other (airflow/__main__.py): without it, the
        # first fork would write the file with a Fernet key and JWT secret this server never sees
        from airflow.configuration import write_default_airflow_configuration_if_needed

        write_default_airflow_configuration_if_needed()
    warm_up()
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(folder, "socket.tmp"))
    server.listen(16)
    os.rename(os.path.join(folder, "socket.tmp"), os.path.join(folder, "socket"))  # ready
    server.settimeout(2)
    while os.getppid() == parent:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        request = read_request(conn)
        if request is None:
            conn.close()
            continue
        if request["argv"][1:3] == ["dags", "test"]:
            warm_up_execution_api()  # once: Airflow caches the API, and its routes are generated once
        if os.fork() == 0:
            server.close()
            try:
                supervise(conn, request)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
