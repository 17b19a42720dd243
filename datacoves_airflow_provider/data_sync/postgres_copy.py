"""PostgreSQL ``COPY`` streaming for both drivers Airflow may hand us (psycopg 3 and psycopg2).

Airflow 3 with SQLAlchemy 2 uses psycopg 3, Airflow 2.11 psycopg2, and a metadata database URL
may name either. The sync streams table data from ``COPY ... TO STDOUT`` on one connection into
``COPY ... FROM STDIN`` (or a file) on another without holding it in memory; these two helpers hide
the drivers' different COPY interfaces (psycopg 3 pushes and pulls chunks, psycopg2 reads from and
writes to file-like objects).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["ByteSink", "CopyInSink", "copy_in", "copy_out"]

#: Chunks are gathered up to this size before they are handed on (psycopg2 writes row by row).
_FLUSH_BYTES = 1 << 20


class ByteSink(Protocol):
    """Where copied bytes go."""

    def write(self, data: bytes) -> Any:
        """Take the next chunk.

        :param data: the bytes.
        """


def _is_psycopg2(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("psycopg2")


class _Buffered:
    """Gathers small writes into larger ones and counts the bytes."""

    def __init__(self, sink: ByteSink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.total = 0

    def write(self, data: bytes | memoryview | str) -> int:
        if isinstance(data, str):
            data = data.encode()
        self.buffer += data
        if len(self.buffer) >= _FLUSH_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.total += len(self.buffer)
            self.sink.write(bytes(self.buffer))
            self.buffer.clear()


def copy_out(dbapi_connection: Any, sql: str, sink: ByteSink) -> int:
    """Run ``COPY ... TO STDOUT`` and hand its output to ``sink`` in chunks; return the byte count.

    :param dbapi_connection: a psycopg 3 or psycopg2 connection.
    :param sql: the ``COPY ... TO STDOUT`` statement.
    :param sink: receives the data.
    """
    buffered = _Buffered(sink)
    with contextlib.closing(dbapi_connection.cursor()) as cursor:
        if _is_psycopg2(dbapi_connection):
            cursor.copy_expert(sql, buffered)
        else:
            with cursor.copy(sql) as copy:
                for chunk in copy:
                    buffered.write(chunk)
    buffered.flush()
    return buffered.total


class CopyInSink:
    """Where ``COPY ... FROM STDIN`` data is written; ``rowcount`` is set once the copy has ended."""

    def __init__(self, write: Any) -> None:
        self._write = write
        self.rowcount = -1

    def write(self, data: bytes) -> Any:
        """Send the next chunk of data.

        :param data: the bytes.
        """
        return self._write(data)


@contextlib.contextmanager
def copy_in(dbapi_connection: Any, sql: str) -> Iterator[CopyInSink]:
    """Run ``COPY ... FROM STDIN``; yield a sink to write the data to. Leaving the block ends the copy.

    An exception inside the block aborts the copy (the statement fails, nothing is loaded).

    :param dbapi_connection: a psycopg 3 or psycopg2 connection.
    :param sql: the ``COPY ... FROM STDIN`` statement.
    """
    if not _is_psycopg2(dbapi_connection):
        with contextlib.closing(dbapi_connection.cursor()) as cursor:
            with cursor.copy(sql) as copy:
                sink = CopyInSink(copy.write)
                yield sink
            sink.rowcount = cursor.rowcount
        return

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []
    rowcount: list[int] = []

    def run_copy() -> None:
        try:
            with os.fdopen(read_fd, "rb") as reader, contextlib.closing(dbapi_connection.cursor()) as cursor:
                cursor.copy_expert(sql, reader)
                rowcount.append(cursor.rowcount)
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run_copy, name="datacoves-copy-in", daemon=True)
    thread.start()
    pipe = os.fdopen(write_fd, "wb", buffering=_FLUSH_BYTES)
    sink = CopyInSink(pipe.write)
    try:
        yield sink
    except BaseException:
        # a row with too few columns makes the server reject the copy: nothing half-loaded survives
        with contextlib.suppress(OSError):
            pipe.write(b"\n\\.invalid-row-that-aborts-the-copy\n")
            pipe.close()
        thread.join()
        raise
    try:
        pipe.close()
    finally:
        thread.join()
    if failure:
        raise failure[0]
    sink.rowcount = rowcount[0] if rowcount else -1
