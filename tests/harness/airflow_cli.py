"""``airflow <command>`` for the tests: the real CLI, started from a warm process.

Most of an ``airflow`` command's CPU goes before it does anything: importing Airflow and, on
Airflow 3, building the in-process execution API that ``airflow dags test`` talks to (about 5 of the
6 CPU-seconds of a one-task ``dags test``; 1.3 of 1.7 on Airflow 2). The suite runs the CLI about a
hundred times per line, so :func:`run_airflow` keeps one warm server per Airflow configuration
(``harness/airflow_cli_server.py``) that has done that once, and forks it per command. The fork takes
the command's own environment, folder and arguments and runs Airflow's CLI entry point
(``airflow.__main__.main``, what the ``airflow`` script runs) in a process of its own; its output
starts with what Airflow printed on import, and its output, exit code (negative for a signal) and
time-out behave as :func:`subprocess.run` gives them.

An Airflow configuration is what Airflow reads on import: ``AIRFLOW_HOME``, ``AIRFLOW_CONFIG``,
the ``AIRFLOW__*`` settings (but ``AIRFLOW__DATACOVES__*``, which only the provider's code reads, at
run time), the ``PYTHON*`` variables and the config file's contents (a server whose file changed
since it started is replaced). Like the ``airflow`` command, the server writes the default config
file when there is none (with a new Fernet key and JWT secret), so its forks and any other Airflow
process of that home read the same one. Everything else in the
environment (``DATACOVES__*``, ``AIRFLOW_CONN_*``, ``TMPDIR``, ``PATH``...) is read when used, in the
fork. A configuration whose import fails (a secrets backend Airflow rejects, say) runs as a plain
subprocess, so its error is the command's own output. ``DATACOVES_TEST_AIRFLOW_CLI=subprocess``
runs every command as a plain subprocess (to compare).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import profile
from harness.paths import AIRFLOW_BIN
from harness.slow_guard import require_slow

SERVER_SCRIPT = Path(__file__).with_name("airflow_cli_server.py")
#: warm servers kept per test process (each holds an imported Airflow: 200-400 MB)
MAX_SERVERS = 3
START_TIMEOUT = 180
#: the process id and the user + system CPU seconds of the last command a warm server ran
last_command_pid = 0
last_command_cpu = 0.0


def run_airflow(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``airflow <args>`` as :func:`subprocess.run` would with ``capture_output=True, text=True``.

    :param args: the command's arguments (``"dags", "test", dag_id``...), without ``airflow``.
    :param env: the command's whole environment.
    :param timeout: seconds before the command is killed and :class:`subprocess.TimeoutExpired` raised.
    :param cwd: the command's working folder (default: this process's).
    """
    argv = [AIRFLOW_BIN, *args]
    require_slow(f"airflow {' '.join(args[:2])}")
    folder = str(Path(cwd or os.getcwd()).resolve())
    server = (
        None
        if os.environ.get("DATACOVES_TEST_AIRFLOW_CLI") == "subprocess"
        else _server_for(env, folder, args[0] if args else "")
    )
    if server is None:
        return subprocess.run(
            argv, env=dict(env), cwd=folder, capture_output=True, text=True, timeout=timeout
        )
    profile.count_command(argv)
    return server.run(argv, dict(env), folder, timeout)


def configuration_key(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables Airflow reads on import (see the module's docstring)."""
    return tuple(
        sorted(
            (name, value)
            for name, value in env.items()
            if name in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
            or (name.startswith("AIRFLOW__") and not name.startswith("AIRFLOW__DATACOVES__"))
            or name.startswith("PYTHON")
        )
    )


def config_file_digest(env: Mapping[str, str]) -> str | None:
    """A digest of the Airflow config file the environment names (None if there is none yet)."""
    path = Path(env.get("AIRFLOW_CONFIG") or Path(env.get("AIRFLOW_HOME", "~/airflow")) / "airflow.cfg")
    try:
        return hashlib.sha256(path.expanduser().read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class WarmServer:
    """One warm server and its private folder."""

    process: subprocess.Popen
    folder: Path
    config_digest: str | None

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(
        self, argv: list[str], env: dict[str, str], cwd: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        out_dir = Path(tempfile.mkdtemp(dir=self.folder))
        request = {
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "folder": str(self.folder),
            "stdout": str(out_dir / "stdout"),
            "stderr": str(out_dir / "stderr"),
        }
        deadline = time.monotonic() + timeout
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(self.folder / "socket"))
                conn.sendall(json.dumps(request).encode() + b"\n")
                replies = _Lines(conn)
                pid = replies.next(deadline=None)["pid"]
                global last_command_pid, last_command_cpu
                last_command_pid = pid
                try:
                    end = replies.next(deadline=deadline)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    replies.next(deadline=None)
                    stdout, stderr = _read(out_dir)
                    raise subprocess.TimeoutExpired(argv, timeout, output=stdout, stderr=stderr) from None
            stdout, stderr = _read(out_dir)
            last_command_cpu = end["cpu"]
            profile.add_children_cpu(end["cpu"])
            return subprocess.CompletedProcess(argv, end["returncode"], stdout, stderr)
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def close(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Lines:
    """JSON lines from a socket."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buffer = conn, b""

    def next(self, deadline: float | None) -> dict:
        while b"\n" not in self.buffer:
            self.conn.settimeout(None if deadline is None else max(0.01, deadline - time.monotonic()))
            chunk = self.conn.recv(65536)  # raises TimeoutError past the deadline
            if not chunk:
                raise ConnectionError("the warm Airflow server closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _read(out_dir: Path) -> tuple[str, str]:
    texts = []
    for name in ("stdout", "stderr"):
        try:
            texts.append((out_dir / name).read_text(errors="replace"))
        except FileNotFoundError:
            texts.append("")
    return texts[0], texts[1]


_servers: OrderedDict[tuple, WarmServer | None] = OrderedDict()
_servers_lock = threading.Lock()  # a test may run commands from several threads


def _server_for(env: Mapping[str, str], cwd: str, subcommand: str) -> WarmServer | None:
    """The warm server of ``env``'s configuration, started if needed (None: run a plain subprocess)."""
    with _servers_lock:
        return _find_or_start(env, cwd, subcommand)


def _find_or_start(env: Mapping[str, str], cwd: str, subcommand: str) -> WarmServer | None:
    key = configuration_key(env)
    digest = config_file_digest(env)
    if key in _servers:
        server = _servers[key]
        _servers.move_to_end(key)
        if server is None or (server.alive() and server.config_digest == digest):
            return server
        server.close()
        del _servers[key]
    while len(_servers) >= MAX_SERVERS:
        _, old = _servers.popitem(last=False)
        if old is not None:
            old.close()
    _servers[key] = server = _start(env, cwd, subcommand)
    return server


def _start(env: Mapping[str, str], cwd: str, subcommand: str) -> WarmServer | None:
    folder = Path(tempfile.mkdtemp(prefix="airflow-cli-server-"))
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), str(folder), AIRFLOW_BIN, subcommand],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not (folder / "socket").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            WarmServer(process, folder, None).close()
            return None  # its import failed: the command runs as a plain subprocess and shows why
        time.sleep(0.05)
    # the server writes the config file when there is none: the digest to compare with is the one after
    return WarmServer(process, folder, config_file_digest(env))


def close_server(env: Mapping[str, str]) -> None:
    """Stop the warm server of ``env``'s configuration, if one runs (a cluster's, when it stops).

    :param env: an environment given to :func:`run_airflow`.
    """
    with _servers_lock:
        server = _servers.pop(configuration_key(env), None)
    if server is not None:
        server.close()


@atexit.register
def close_all() -> None:
    """Stop every warm server of this process."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        if server is not None:
            server.close()
