"""A small HTTP server on 127.0.0.1 that records every request (for the notifier tests).

Answers: ``/status/<code>/...`` with that code; ``/slack/...`` with 200 ``ok`` (as Slack does);
``/webhookb2/...`` with 200 ``1`` (Office 365 connector); anything else with 202 (Teams Workflows).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.network import serve_http


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class WebhookRecorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[Recorded]:
        with self.lock:
            return list(self.requests)


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with recorder.lock:
                recorder.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            if self.path.startswith("/status/"):
                code, text = int(self.path.split("/")[2]), b"failing on purpose"
            elif self.path.startswith("/slack/"):
                code, text = 200, b"ok"
            elif "/webhookb2/" in self.path:
                code, text = 200, b"1"
            else:
                code, text = 202, b""
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    with serve_http(Handler) as url:
        recorder.url = url
        yield recorder
