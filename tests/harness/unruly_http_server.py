"""An HTTP server on 127.0.0.1 that misbehaves on purpose (for the bounded-HTTP tests).

Paths (any method; the request's body is read first):

- ``/retry-after/<seconds>/...``: 503 with ``Retry-After: <seconds>``;
- ``/trickle/<interval>/...``: 200 announcing a 1000-byte JSON body, then one byte per ``interval``
  seconds;
- ``/trickle-headers/<interval>/...``: the status line and headers themselves, a byte per interval;
- ``/huge/<megabytes>/...``: 200 with that many MiB of JSON-ish bytes, streamed (``Content-Length``
  set); ``/huge-unannounced/<megabytes>/...``: the same without ``Content-Length`` (ends at close);
- ``/huge-error/<megabytes>/...``: the same as a 500;
- ``/nested/<depth>/...``: 200 with a secret document whose value nests ``depth`` lists deep.

``requests`` counts what each path was asked, by its first two segments.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.network import serve_http

MIB = 1024 * 1024


@dataclass
class UnrulyServer:
    url: str
    requests: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def unruly_server() -> Iterator[UnrulyServer]:
    state = UnrulyServer(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            kind, arg = [*parts, "", ""][:2]
            with state.lock:
                state.requests[f"{kind}/{arg}"] += 1
            with suppress(OSError):  # the client hung up: the point of most of these
                getattr(self, f"_{kind.replace('-', '_')}")(arg)

        do_GET = do_POST = do_DELETE = handle_any

        def _retry_after(self, seconds: str) -> None:
            self._send(503, b'{"detail": "come back later"}', {"Retry-After": seconds})

        def _trickle(self, interval: str) -> None:
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            )
            self.wfile.flush()
            for _ in range(1000):
                time.sleep(float(interval))
                self.wfile.write(b" ")
                self.wfile.flush()

        def _trickle_headers(self, interval: str) -> None:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"x" * 1000:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(float(interval))

        def _huge(self, megabytes: str, status: int = 200, announce: bool = True) -> None:
            size = int(megabytes) * MIB
            head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            head += f"Content-Length: {size}\r\n" if announce else "Connection: close\r\n"
            self.wfile.write(head.encode() + b"\r\n")
            chunk = b'["' + b"x" * (MIB - 4) + b'"]'
            for _ in range(int(megabytes)):
                self.wfile.write(chunk)
            self.close_connection = True

        def _huge_unannounced(self, megabytes: str) -> None:
            self._huge(megabytes, announce=False)

        def _huge_error(self, megabytes: str) -> None:
            self._huge(megabytes, status=500)

        def _nested(self, depth: str) -> None:
            value = "[" * int(depth) + "]" * int(depth)
            body = f'{{"slug": "datacoves-x", "scope": "environment", "format": "json", "value": {value}}}'
            self._send(200, body.encode(), {})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    with serve_http(Handler) as url:
        state.url = url
        yield state
