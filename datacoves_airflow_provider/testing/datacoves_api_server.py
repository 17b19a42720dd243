"""A reference Datacoves API server for tests and local development (standard library only).

It implements the dbt API routes :mod:`datacoves_airflow_provider.hooks.dbt_api` documents (files
with tags, kept on disk so they survive restarts) and the secrets route
:mod:`datacoves_airflow_provider.hooks.datacoves_secrets` documents (secrets read from a JSON
file), all behind one bearer token::

    python -m datacoves_airflow_provider.testing.datacoves_api_server --port 8765 \
        --data-dir /tmp/datacoves-api --token dev-token --secrets-file secrets.json

Point a worker at it with ``DATACOVES__API_ENDPOINT=http://127.0.0.1:8765``,
``DATACOVES__API_TOKEN=dev-token`` and the account, project and environment slugs. It is a
development tool: one process, no TLS, no user model beyond one token.

Files: ``<data-dir>/<scope>/files/<name>/<tag>/`` holds ``content`` and ``meta.json`` (name and tag
percent-encoded), where ``<scope>`` is ``accounts/<a>/projects/<p>`` or that plus
``/environments/<e>``.

Secrets: ``--secrets-file`` is a JSON list; each entry has ``slug``, ``format`` (``key_value``,
``json`` or ``multiple_key_value``), ``value``, ``project``, and ``environment`` for an
environment-scoped secret (omit it for a project-scoped one); ``shared_with_stack_services``
defaults to true (Airflow cannot see a secret that is not shared). The file is re-read on every
request, so tests can change secrets while the server runs.

The platform's secrets route (what a Datacoves worker calls, see
:class:`~datacoves_airflow_provider.hooks.datacoves_secrets.PlatformSecretsClient`) serves the same
file::

    GET /api/v1/secrets/<environment slug>?slug=<name>
        Authorization: token <--secrets-token (default: --token)>

    200 [{"slug": <name>, "value": <the entry's value>}]   an environment secret of that slug, else
                                                           a project one (any project)
    200 []                                                 none shared with stack services
    401 a missing or wrong token

Point a worker at it with ``DATACOVES__SECRETS_API_ENDPOINT=http://127.0.0.1:8765/api/v1/secrets/<env>``
and the token in ``AIRFLOW_VAR_DATACOVES-PRIMARY-SECRET``. A connection's value may be a URI string
or an object of connection fields (``extra`` or ``extra_dejson``), as the platform stores them.

Every request is appended to ``<data-dir>/requests.log`` (method, path, status) so tests can count
calls; for the platform's secrets route the path ends in ``?slug=<name>``.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hmac
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["DatacovesApiServer", "main"]

_UNTAGGED = "_untagged"


class _Error(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class DatacovesApiServer(ThreadingHTTPServer):
    """The server: ``DatacovesApiServer(("127.0.0.1", 0), data_dir, token).serve_forever()``.

    :param address: (host, port); port 0 picks a free one (see ``server_address``).
    :param data_dir: where files are kept.
    :param token: the bearer token clients must send.
    :param fail_first: answer the first N requests with ``fail_status`` (to exercise client retries).
    :param fail_status: the HTTP status of those answers (a 5xx; default 503).
    :param secrets_file: the JSON list of secrets (see the module docstring), or None for none.
    :param secrets_token: the token the platform's secrets route takes (``Authorization: token
        <secrets_token>``); default: ``token``.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        data_dir: Path,
        token: str,
        *,
        fail_first: int = 0,
        fail_status: int = 503,
        secrets_file: Path | None = None,
        secrets_token: str | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.secrets_file = secrets_file
        self.secrets_token = secrets_token or token
        self.data_dir = data_dir
        self.token = token
        self.fail_first = fail_first
        self.fail_status = HTTPStatus(fail_status)
        self.lock = threading.Lock()
        data_dir.mkdir(parents=True, exist_ok=True)

    def log_request_line(self, method: str, path: str, status: int) -> None:
        with self.lock, (self.data_dir / "requests.log").open("a") as log:
            log.write(json.dumps({"method": method, "path": path, "status": status}) + "\n")

    def next_sequence(self) -> int:
        with self.lock:
            counter = self.data_dir / "sequence"
            value = int(counter.read_text()) + 1 if counter.exists() else 1
            counter.write_text(str(value))
            return value


class _Handler(BaseHTTPRequestHandler):
    server: DatacovesApiServer
    protocol_version = "HTTP/1.1"

    # -- dispatch ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests.log has the record
        pass

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self._request_line = (method, url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self._read_body()
            with self.server.lock:
                failing = self.server.fail_first > 0
                if failing:
                    self.server.fail_first -= 1
            if failing:
                raise _Error(self.server.fail_status, "injected failure")
            segments = [unquote(s) for s in url.path.split("/") if s]
            if segments[:3] == ["api", "v1", "secrets"]:
                return self._platform_secret(method, segments[3:], query)
            if segments[:2] != ["api", "v3"]:
                raise _Error(HTTPStatus.NOT_FOUND, "unknown route")
            route = segments[2:]
            if route == ["healthcheck"] and method == "GET":
                self._send_json({"status": "ok"})
                return
            self._authenticate()
            self._route(method, route, query, body)
        except _Error as exc:
            self._send_json({"detail": str(exc)}, exc.status)

    def _start_response(self, status: HTTPStatus) -> None:
        # logged before the response leaves, so a client that got its answer finds the record
        self.server.log_request_line(*self._request_line, int(status))
        self.send_response(status)

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self.server.token.encode()):
            raise _Error(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token")

    def _route(self, method: str, route: list[str], query: dict[str, str], body: bytes) -> None:
        if len(route) < 4 or route[0] != "accounts" or route[2] != "projects":
            raise _Error(HTTPStatus.NOT_FOUND, "unknown route")
        scope = ["accounts", route[1], "projects", route[3]]
        rest = route[4:]
        if rest[:1] == ["environments"]:
            if len(rest) < 2:
                raise _Error(HTTPStatus.NOT_FOUND, "unknown route")
            scope += ["environments", rest[1]]
            rest = rest[2:]
        if rest[:1] == ["secrets"]:
            if "environments" not in scope or len(rest) != 2 or method != "GET":
                raise _Error(HTTPStatus.NOT_FOUND, "unknown route")
            self._send_json(self._secret(project=scope[3], environment=scope[5], slug=rest[1]))
            return
        root = self.server.data_dir.joinpath(*(quote(s, safe="") for s in scope))
        environment_scope = "environments" in scope
        tag = query.get("tag") or None
        if rest == ["files"] and method == "GET":
            self._send_json({"files": [m for m in _all_meta(root) if tag is None or m["tag"] == tag]})
        elif rest == ["files"] and method == "POST":
            self._send_json(self._upload(root, body), HTTPStatus.CREATED)
        elif rest == ["manifest"] and method == "GET":
            self._send_manifest(root, trim=query.get("trim", "false").lower() == "true")
        elif len(rest) == 2 and rest[0] == "files" and method == "GET":
            self._send_json(_pick(root, rest[1], tag)[1])
        elif len(rest) == 2 and rest[0] == "files" and method == "DELETE":
            _delete(root, rest[1], tag)
            self._send_json({"deleted": rest[1]})
        elif len(rest) == 3 and rest[0] == "files" and rest[2] == "download" and method == "GET":
            folder, _meta = _pick(root, rest[1], tag)
            self._send_file(folder / "content")
        elif len(rest) == 3 and rest[0] == "files" and rest[2] == "promote" and method == "POST":
            if not environment_scope:
                raise _Error(HTTPStatus.BAD_REQUEST, "promote copies an environment file to its project")
            folder, meta = _pick(root, rest[1], tag)
            project_root = root.parent.parent
            promoted = self._store(
                project_root, meta["filename"], meta["tag"], meta["is_manifest"], folder / "content"
            )
            self._send_json(promoted)
        else:
            raise _Error(
                HTTPStatus.NOT_FOUND if method == "GET" else HTTPStatus.METHOD_NOT_ALLOWED, "unknown route"
            )

    # -- the platform's secrets route -------------------------------------------------------------

    def _platform_secret(self, method: str, route: list[str], query: dict[str, str]) -> None:
        """``GET /api/v1/secrets/<environment>?slug=<name>`` with ``Authorization: token <token>``."""
        slug = query.get("slug", "")
        self._request_line = (method, f"{self._request_line[1]}?slug={quote(slug, safe='')}")
        if len(route) != 1 or method != "GET":
            raise _Error(HTTPStatus.NOT_FOUND, "unknown route")
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token" or not hmac.compare_digest(
            token.encode(), self.server.secrets_token.encode()
        ):
            raise _Error(HTTPStatus.UNAUTHORIZED, "missing or invalid token")
        if not slug:
            raise _Error(HTTPStatus.BAD_REQUEST, "pass ?slug=<name>")
        path = self.server.secrets_file
        entries = json.loads(path.read_text()) if path is not None and path.exists() else []
        visible = [e for e in entries if e.get("slug") == slug and e.get("shared_with_stack_services", True)]
        ranked = [e for e in visible if e.get("environment") == route[0]]
        ranked += [e for e in visible if e.get("environment") is None]
        self._send_json([{"slug": slug, "value": ranked[0]["value"]}] if ranked else [])

    # -- operations ----------------------------------------------------------------------------

    def _secret(self, *, project: str, environment: str, slug: str) -> dict[str, Any]:
        path = self.server.secrets_file
        entries = json.loads(path.read_text()) if path is not None and path.exists() else []
        visible = [e for e in entries if e.get("slug") == slug and e.get("shared_with_stack_services", True)]
        for entry in visible:  # an environment secret wins over the project's
            if entry.get("project") == project and entry.get("environment") == environment:
                return {
                    "slug": slug,
                    "scope": "environment",
                    "format": entry["format"],
                    "value": entry["value"],
                }
        for entry in visible:
            if entry.get("project") == project and entry.get("environment") is None:
                return {"slug": slug, "scope": "project", "format": entry["format"], "value": entry["value"]}
        raise _Error(HTTPStatus.NOT_FOUND, f"no secret {slug!r} shared with stack services")

    def _upload(self, root: Path, body: bytes) -> dict[str, Any]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _Error(HTTPStatus.BAD_REQUEST, "upload must be multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, str] = {}
        content: bytes | None = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            if name == "file":
                content = payload
            elif isinstance(name, str):
                fields[name] = payload.decode()
        filename = fields.get("filename", "")
        if content is None or not filename or filename.startswith("/") or ".." in filename.split("/"):
            raise _Error(
                HTTPStatus.BAD_REQUEST, "an upload needs a 'file' part and a relative 'filename' field"
            )
        with tempfile.NamedTemporaryFile(dir=self.server.data_dir, delete=False) as tmp:
            tmp.write(content)
        try:
            return self._store(
                root,
                filename,
                fields.get("tag") or None,
                fields.get("is_manifest", "false") == "true",
                Path(tmp.name),
            )
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def _store(
        self, root: Path, filename: str, tag: str | None, is_manifest: bool, source: Path
    ) -> dict[str, Any]:
        folder = root / "files" / _segment(filename) / _segment(tag or _UNTAGGED)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "filename": filename,
            "tag": tag,
            "is_manifest": is_manifest,
            "size": source.stat().st_size,
            "uploaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sequence": self.server.next_sequence(),
        }
        staged = folder / ".content.partial"
        shutil.copyfile(source, staged)
        staged.replace(folder / "content")
        (folder / "meta.json").write_text(json.dumps(meta))
        return meta

    def _send_manifest(self, root: Path, *, trim: bool) -> None:
        manifests = [m for m in _all_meta(root) if m["is_manifest"]]
        if not manifests:
            raise _Error(HTTPStatus.NOT_FOUND, "no manifest uploaded")
        latest = max(manifests, key=lambda m: m["sequence"])
        folder, _ = _pick(root, latest["filename"], latest["tag"])
        data = json.loads((folder / "content").read_bytes())
        if trim:
            data = {k: data[k] for k in ("metadata", "nodes", "sources", "exposures") if k in data}
        self._send_json(data)

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


def _all_meta(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "files").glob("*/*/meta.json"))]


def _pick(root: Path, filename: str, tag: str | None) -> tuple[Path, dict[str, Any]]:
    versions = root / "files" / _segment(filename)
    if tag is not None:
        folder = versions / _segment(tag)
        if not (folder / "meta.json").is_file():
            raise _Error(HTTPStatus.NOT_FOUND, f"no file {filename!r} with tag {tag!r}")
        return folder, json.loads((folder / "meta.json").read_text())
    metas = [(p.parent, json.loads(p.read_text())) for p in versions.glob("*/meta.json")]
    if not metas:
        raise _Error(HTTPStatus.NOT_FOUND, f"no file {filename!r}")
    return max(metas, key=lambda item: item[1]["sequence"])


def _delete(root: Path, filename: str, tag: str | None) -> None:
    versions = root / "files" / _segment(filename)
    target = versions / _segment(tag) if tag is not None else versions
    if not target.exists():
        raise _Error(HTTPStatus.NOT_FOUND, f"no file {filename!r}" + (f" with tag {tag!r}" if tag else ""))
    shutil.rmtree(target)


def main(argv: list[str] | None = None) -> None:
    """Run the server until interrupted.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed on start)")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--token", default=os.environ.get("DATACOVES__API_TOKEN", ""))
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N requests with an error")
    parser.add_argument("--fail-status", type=int, default=503, help="their HTTP status (default 503)")
    parser.add_argument("--secrets-file", type=Path, help="JSON list of secrets (see the module docstring)")
    parser.add_argument(
        "--secrets-token",
        help="the token of the platform's secrets route /api/v1/secrets/<env> (default: --token)",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("pass --token or set DATACOVES__API_TOKEN")
    server = DatacovesApiServer(
        (args.host, args.port),
        args.data_dir,
        args.token,
        fail_first=args.fail_first,
        fail_status=args.fail_status,
        secrets_file=args.secrets_file,
        secrets_token=args.secrets_token,
    )
    sys.stdout.write(f"Datacoves API listening on http://{args.host}:{server.server_address[1]}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
