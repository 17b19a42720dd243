"""Importing one DAG file in a process of its own, for the parse checker
(:mod:`datacoves_airflow_provider.testing.dag_parse_check`): forked from one that has already
imported Airflow (Linux), or a new interpreter running :mod:`.dag_import_probe`."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datacoves_airflow_provider.testing.dag_import_probe import ProbeResult, probe_dag_file


def _probe_in_fork(path: Path, timeout: float) -> ProbeResult:
    """Fork, import ``path`` in the child (output discarded), read its result through a pipe."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            payload = probe_dag_file(path).to_json().encode()
        except BaseException as exc:  # report anything, even SystemExit from the DAG file
            payload = (
                ProbeResult(str(path), None, import_error=f"the import crashed: {exc!r}").to_json().encode()
            )
            status = 1
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    timed_out = False
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([pipe], [], [], remaining)
            if ready:
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return ProbeResult(str(path), None, import_error=f"the import did not finish within {timeout:g} s")
    try:
        return ProbeResult.from_json(b"".join(chunks).decode())
    except ValueError:
        return ProbeResult(
            str(path), None, import_error=f"the import process died ({_describe_status(status)})"
        )


def _probe_in_new_interpreter(path: Path, dags_folder: Path, timeout: float) -> ProbeResult:
    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "result.json"
        command = [
            sys.executable,
            "-m",
            "datacoves_airflow_provider.testing.dag_import_probe",
            str(path),
            "--dags-folder",
            str(dags_folder),
            "--result-file",
            str(result_file),
        ]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return ProbeResult(
                str(path), None, import_error=f"the import did not finish within {timeout:g} s"
            )
        if result_file.exists():
            return ProbeResult.from_json(result_file.read_text())
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return ProbeResult(
            str(path), None, import_error=f"the import process failed ({proc.returncode}):\n{tail}"
        )


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"
