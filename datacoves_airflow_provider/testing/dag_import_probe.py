"""Import one DAG file, time it, and record what it reaches for while it is parsed.

While the file is imported (through a DagBag, as the DAG processor does), ``Variable`` and
``Connection`` lookups, ``BaseHook.get_connection``, SQL statements on any SQLAlchemy engine, and
socket connections / DNS lookups are recorded with the line of user code that made them, whether
that line is in the DAG file or in a helper module it imports. The calls still go through: the
file behaves exactly as it would in Airflow, and its load time includes what those calls cost.
Airflow's own work (outside user code) is not recorded.

The parse checker (:mod:`datacoves_airflow_provider.testing.dag_parse_check`) runs the probe in a
fresh process per file. It can also be run by hand::

    python -m datacoves_airflow_provider.testing.dag_import_probe orchestrate/dags/my_dag.py

which prints the result as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import json
import os
import socket
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ProbeResult", "RecordedCall", "main", "probe_dag_file", "recording_parse_time_calls", "warm_up"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
_LIBRARY_DIRS = tuple(
    {
        str(Path(p).resolve())
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
)


@dataclass(frozen=True)
class RecordedCall:
    """A lookup or connection made while a DAG file was imported.

    :param kind: ``variable``, ``connection``, ``database`` or ``network``.
    :param call: what was called, e.g. ``Variable.get``, ``SQL``, ``socket.connect``.
    :param detail: the variable key, connection id, host:port or start of the SQL statement.
    :param filename: the user file whose line made the call (absolute path).
    :param line: that line.
    """

    kind: str
    call: str
    detail: str
    filename: str
    line: int


@dataclass
class ProbeResult:
    """What importing one DAG file did.

    :param path: the DAG file (absolute).
    :param load_time: seconds the DagBag took to import it, or None when it never finished.
    :param dag_ids: the DAGs it defines.
    :param import_error: Airflow's import error text, if any.
    :param calls: lookups and connections made by user code during the import.
    """

    path: str
    load_time: float | None
    dag_ids: list[str] = field(default_factory=list)
    import_error: str | None = None
    calls: list[RecordedCall] = field(default_factory=list)

    def to_json(self) -> str:
        """The result as a JSON document."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ProbeResult:
        """Read a result written by :meth:`to_json`.

        :param text: the JSON document.
        """
        data = json.loads(text)
        data["calls"] = [RecordedCall(**call) for call in data.get("calls", [])]
        return cls(**data)


def warm_up() -> None:
    """Do once what Airflow's DAG processor has done before it imports any DAG file.

    Imports Airflow, its models and task decorators (with every provider's ``@task.*``), and fills
    an empty DagBag, so a file's load time is its own and not Airflow's start-up.
    """
    from datacoves_airflow_provider.compat import new_dag_bag

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Airflow's own deprecations are not the DAG's business
        import airflow.models  # noqa: F401
        from airflow.decorators import task  # type: ignore[attr-defined]

        # Looking up a provider decorator loads every provider's @task.* once.
        with contextlib.suppress(AttributeError):
            _ = task.datacoves_bash
        with tempfile.TemporaryDirectory() as empty:
            new_dag_bag(empty)


def probe_dag_file(path: str | os.PathLike[str]) -> ProbeResult:
    """Import ``path`` through a DagBag in this process, timing it and recording parse-time calls.

    Call :func:`warm_up` first, and run it in a process of its own: the imported modules stay.

    :param path: the DAG file.
    """
    from datacoves_airflow_provider.compat import new_dag_bag

    file = Path(path).resolve()
    with recording_parse_time_calls() as calls:
        started = time.perf_counter()
        bag = new_dag_bag(file)
        elapsed = time.perf_counter() - started
    errors = [str(text).strip() for text in bag.import_errors.values()]
    return ProbeResult(
        path=str(file),
        load_time=elapsed,
        dag_ids=sorted(bag.dag_ids),
        import_error="\n".join(errors) or None,
        calls=calls,
    )


@contextlib.contextmanager
def recording_parse_time_calls() -> Iterator[list[RecordedCall]]:
    """Record Variable / Connection lookups, SQL and network use by user code inside the block.

    The calls still happen. A lookup's own SQL or network traffic is not recorded a second time.
    """
    recorder = _Recorder()
    undo: list[Callable[[], None]] = []
    try:
        for cls, method in _lookup_methods():
            undo.append(recorder.wrap_method(cls, method))
        undo.append(recorder.watch_sql())
        undo.append(recorder.watch_sockets())
        yield recorder.calls
    finally:
        for restore in reversed(undo):
            restore()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m datacoves_airflow_provider.testing.dag_import_probe FILE``: print the result as JSON.

    :param argv: command line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="the DAG file to import")
    parser.add_argument(
        "--dags-folder", help="folder appended to sys.path, as Airflow does (default: the file's)"
    )
    parser.add_argument("--result-file", help="write the JSON here instead of standard output")
    args = parser.parse_args(argv)

    from datacoves_airflow_provider.testing.dag_loader import add_to_sys_path

    add_to_sys_path(Path(args.dags_folder or Path(args.file).parent).resolve())
    warm_up()
    result = probe_dag_file(args.file)
    if args.result_file:
        Path(args.result_file).write_text(result.to_json())
    else:
        sys.stdout.write(result.to_json() + "\n")
    return 0


# --- recording -------------------------------------------------------------------------------------


def _lookup_methods() -> list[tuple[type, str]]:
    """(class, method) pairs through which DAG code reads Variables and Connections on this line."""
    from airflow.models.connection import Connection as CoreConnection
    from airflow.models.variable import Variable as CoreVariable

    from datacoves_airflow_provider.compat import BaseHook, Connection, Variable

    methods = {
        (Variable, "get"),
        (Variable, "set"),
        (CoreVariable, "get"),
        (CoreVariable, "set"),
        (CoreVariable, "setdefault"),
        (Connection, "get"),
        (CoreConnection, "get_connection_from_secrets"),
        (BaseHook, "get_connection"),
    }
    return sorted(
        ((cls, name) for cls, name in methods if name in vars(cls)), key=lambda m: (m[0].__qualname__, m[1])
    )


def _is_user_file(filename: str) -> bool:
    if filename.startswith("<") or filename.startswith(_PACKAGE_DIR):
        return False
    resolved = str(Path(filename).resolve())
    return not resolved.startswith(_LIBRARY_DIRS) and not resolved.startswith(_PACKAGE_DIR)


def _short(value: object, limit: int = 80) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._local = threading.local()

    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def record(self, kind: str, call: str, detail: str) -> None:
        """Keep the call when user code made it (the innermost user frame is where)."""
        if self._depth():
            return
        frame = sys._getframe(1)
        while frame is not None and not _is_user_file(frame.f_code.co_filename):
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            self.calls.append(RecordedCall(kind, call, detail, frame.f_code.co_filename, frame.f_lineno))

    @contextlib.contextmanager
    def _inside(self) -> Iterator[None]:
        self._local.depth = self._depth() + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def wrap_method(self, cls: type, name: str) -> Callable[[], None]:
        original = vars(cls)[name]
        function = original.__func__ if isinstance(original, classmethod | staticmethod) else original
        label = f"{cls.__name__}.{name}"
        kind = "variable" if "Variable" in cls.__name__ else "connection"
        recorder = self

        def recorded(*args: Any, **kwargs: Any) -> Any:
            positional = args[1:] if isinstance(original, classmethod) else args
            key = positional[0] if positional else next(iter(kwargs.values()), "")
            recorder.record(kind, label, repr(key))
            with recorder._inside():
                return function(*args, **kwargs)

        recorded.__wrapped__ = function  # type: ignore[attr-defined]
        recorded.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        replacement: Any = (
            type(original)(recorded) if isinstance(original, classmethod | staticmethod) else recorded
        )
        setattr(cls, name, replacement)
        return lambda: setattr(cls, name, original)

    def watch_sql(self) -> Callable[[], None]:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        def before_cursor_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.record("database", "SQL", _short(statement))

        event.listen(Engine, "before_cursor_execute", before_cursor_execute)
        return lambda: event.remove(Engine, "before_cursor_execute", before_cursor_execute)

    def watch_sockets(self) -> Callable[[], None]:
        recorder = self
        connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

        def recorded_connect(sock: socket.socket, address: Any) -> Any:
            recorder.record("network", "socket.connect", _address(address))
            with recorder._inside():
                return connect(sock, address)

        def recorded_connect_ex(sock: socket.socket, address: Any) -> Any:
            recorder.record("network", "socket.connect", _address(address))
            with recorder._inside():
                return connect_ex(sock, address)

        def recorded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            recorder.record("network", "getaddrinfo", _address((host, port)))
            with recorder._inside():
                return getaddrinfo(host, port, *args, **kwargs)

        socket.socket.connect = recorded_connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = recorded_connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = recorded_getaddrinfo  # type: ignore[assignment]

        def restore() -> None:
            socket.socket.connect = connect  # type: ignore[method-assign]
            socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
            socket.getaddrinfo = getaddrinfo

        return restore


def _address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return _short(address)


if __name__ == "__main__":
    raise SystemExit(main())
