"""The HTTP side of the reference Datacoves API server
(:mod:`datacoves_airflow_provider.testing.datacoves_api_server`): its error, the answers and the
request record every route shares, reading a multipart body, and a name as one folder name."""

from __future__ import annotations

import email.parser
import email.policy
import json
import shutil
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datacoves_airflow_provider.exceptions import DatacovesError

if TYPE_CHECKING:
    from datacoves_airflow_provider.testing.datacoves_api_server import DatacovesApiServer


class _Error(DatacovesError):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _BaseHandler(BaseHTTPRequestHandler):
    """What every route of the server shares: the request record, the answers, the request body."""

    server: DatacovesApiServer
    protocol_version = "HTTP/1.1"
    _request_line: tuple[str, str]
    _details: dict[str, Any]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests.log has the record
        pass

    def _start_response(self, status: HTTPStatus) -> None:
        # logged before the response leaves, so a client that got its answer finds the record
        self.server.log_request_line(*self._request_line, int(status), **getattr(self, "_details", {}))
        self.send_response(status)

    def _form_parts(self, body: bytes, not_multipart: str) -> list[tuple[Any, str | None, bytes]]:
        """The parts of a ``multipart/form-data`` body: (name, file name or None, payload).

        :param body: the request body.
        :param not_multipart: the 400 answer's message when the body is not multipart/form-data.
        """
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _Error(HTTPStatus.BAD_REQUEST, not_multipart)
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            parts.append((name, part.get_filename(), raw if isinstance(raw, bytes) else b""))
        return parts

    def _send_records(self) -> None:
        payload = json.dumps(self.server.request_records()).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # -- responses -----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        payload = json.dumps(data).encode()
        self._start_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_file(self, path: Path) -> None:
        self._start_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        with path.open("rb") as handle:
            shutil.copyfileobj(handle, self.wfile)


def _segment(text: str) -> str:
    """``text`` as one folder name: percent-encoded, with ``.`` and ``..`` (a tag can be a run id
    such as ``..``) encoded too."""
    encoded = quote(text, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
