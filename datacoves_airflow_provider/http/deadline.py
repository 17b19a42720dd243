"""The deadline of the HTTP call in progress (one per thread): its budget, and the watchdog that
shuts the call's sockets down when the deadline passes (see :mod:`.session`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["call_budget"]


#: How often the watchdog looks again, once the deadline has passed, for a socket opened late.
_WATCHDOG_RECHECK = 0.2


def call_budget(timeout: float, retries: int) -> float:
    """The total deadline of a call, in seconds: ``timeout`` for each of its ``retries + 1``
    attempts (the waits between attempts come out of the same budget).

    :param timeout: seconds per attempt.
    :param retries: further attempts after the first.
    """
    return float(timeout) * (retries + 1)


@dataclass
class _Call:
    """The deadline of the call this thread is making, and what the watchdog may cut."""

    deadline: float
    connections: list[Any] = field(default_factory=list)
    cut: bool = False
    retry_after: str | None = None  # a Retry-After header whose wait did not fit in the budget

    def left(self) -> float:
        return self.deadline - time.monotonic()


_CURRENT = threading.local()


def _current() -> _Call | None:
    return getattr(_CURRENT, "call", None)


def _cut(call: _Call) -> None:
    """Shut down the sockets of the call's connections: a blocked read returns at once."""
    call.cut = True
    for connection in list(call.connections):
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS


@contextlib.contextmanager
def _deadline(budget: float) -> Iterator[_Call]:
    """Run the block as one call that ends within ``budget`` seconds (see the module docstring)."""
    call = _Call(deadline=time.monotonic() + budget)
    previous = _current()
    _CURRENT.call = call
    done = threading.Event()

    def watchdog() -> None:
        if done.wait(max(call.left(), 0)):
            return
        while True:  # cut, and keep cutting what a late connect may still open, until the call ends
            _cut(call)
            if done.wait(_WATCHDOG_RECHECK):
                return

    thread = threading.Thread(target=watchdog, name="http-call-deadline", daemon=True)
    thread.start()
    try:
        yield call
    finally:
        done.set()
        _CURRENT.call = previous
