"""A reference Datacoves API server for tests and local development (standard library only).

It implements the dbt API routes :mod:`datacoves_airflow_provider.dbt.api_client` documents (files
with tags, kept on disk so they survive restarts) and the secrets route
:mod:`datacoves_airflow_provider.secrets.api_client` documents (secrets read from a JSON
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
:class:`~datacoves_airflow_provider.secrets.api_client.PlatformSecretsClient`) serves the same
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

**The platform's dialect.** The same server also speaks the internal dbt API a Datacoves worker
calls (docs/running-on-datacoves.md), under both ``api/internal/`` and ``api/v2/datacoves/``::

    GET    <prefix>/projects/<p>/latest-manifest?trimmed=true|false   the latest uploaded manifest (raw JSON)
    GET    <prefix>/environments/<e>/files?filename=<name>            {"data": {"contents": ...}}
    GET    <prefix>/environments/<e>/files?tag=<tag>                  {"data": {"contents": ...}}
    POST   <prefix>/environments/<e>/files     multipart files[<i>][tag] + files[<i>][file]
    DELETE <prefix>/environments/<e>/files     JSON body {"tag": <tag>}
    POST   <prefix>/manifests                  multipart file + environment_slug, run_id, dag_id

File routes need ``Authorization: Bearer <--dbt-api-token>``, the manifest route ``Authorization:
Bearer <--manifest-token>``; a server started without one answers 401 on its routes. A stored
file's ``contents`` is its JSON when it is JSON, its text when it is UTF-8, and a binary file is
answered raw (``application/octet-stream``). A tag names one file (uploading the same tag again
replaces it); ``?filename=`` answers the most recent upload of that name. ``latest-manifest``
answers the most recent manifest received by the manifest route (any project slug: the server
holds one project); 404 before the first.

**The request record.** Every request is appended, as one JSON object per line, to
``<data-dir>/requests.log`` before its answer leaves (so a client that got its answer finds its
record), and ``GET /__requests`` answers the whole record as a JSON list (that request itself is not
recorded). Each record has ``method``, ``path`` (without the query), ``query`` (an object of the
query's parameters, last value wins), ``auth`` (which credential was presented, never its value:
``none``, or ``<scheme>:<name>`` where scheme is the header's scheme lower-cased and name is
``api`` (``--token``), ``dbt_api``, ``manifest``, ``secrets`` (``--secrets-token``), or ``unknown``
for any other value), ``form``
(multipart text fields and their values; a file part is recorded as ``{"filename": ..., "size": ...}``,
never its contents; JSON bodies of DELETE as they are) and ``status``.
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

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["DatacovesApiServer", "main"]

_UNTAGGED = "_untagged"


class _Error(DatacovesError):
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
    :param dbt_api_token: the bearer token of the internal dbt API routes (None: they answer 401).
    :param manifest_token: the bearer token of the manifest upload route (None: it answers 401).
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
        dbt_api_token: str | None = None,
        manifest_token: str | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        #: Tokens the request record recognises, by the name it records (never the value).
        self.named_tokens: dict[str, str] = {"api": token}
        if dbt_api_token:
            self.named_tokens["dbt_api"] = dbt_api_token
        if manifest_token:
            self.named_tokens["manifest"] = manifest_token
        if secrets_token:
            self.named_tokens["secrets"] = secrets_token
        self.secrets_file = secrets_file
        self.secrets_token = secrets_token or token
        self.data_dir = data_dir
        self.token = token
        self.fail_first = fail_first
        self.fail_status = HTTPStatus(fail_status)
        self.lock = threading.Lock()
        data_dir.mkdir(parents=True, exist_ok=True)

    def log_request_line(self, method: str, path: str, status: int, **details: Any) -> None:
        record = {"method": method, "path": path, **details, "status": status}
        with self.lock, (self.data_dir / "requests.log").open("a") as log:
            log.write(json.dumps(record) + "\n")

    def request_records(self) -> list[dict[str, Any]]:
        """Every recorded request, oldest first (see the module docstring)."""
        log = self.data_dir / "requests.log"
        with self.lock:
            lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line) for line in lines]

    def auth_name(self, header: str) -> str:
        """Which credential an ``Authorization`` header presents, for the record (never the value).

        :param header: the header's value.
        """
        if not header.strip():
            return "none"
        scheme, _, value = header.strip().partition(" ")
        name = next(
            (
                n
                for n, t in self.named_tokens.items()
                if hmac.compare_digest(value.strip().encode(), t.encode())
            ),
            "unknown",
        )
        return f"{scheme.lower()}:{name}"

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
        self._details: dict[str, Any] = {
            "query": query,
            "auth": self.server.auth_name(self.headers.get("Authorization", "")),
            "form": {},
        }
        if url.path == "/__requests" and method == "GET":
            self._send_records()
            return
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
            platform = _platform_route(segments)
            if platform is not None:
                self._platform(method, platform, query, body)
                return
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
        self.server.log_request_line(*self._request_line, int(status), **getattr(self, "_details", {}))
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

    # -- the platform's internal routes ----------------------------------------------------------

    def _platform(self, method: str, route: list[str], query: dict[str, str], body: bytes) -> None:
        """The internal dbt API and manifest routes (``route`` is what follows the prefix)."""
        if route == ["manifests"] and method == "POST":
            self._bearer("manifest")
            fields, files = self._multipart(body)
            if "file" not in files:
                raise _Error(HTTPStatus.BAD_REQUEST, "a manifest upload needs a 'file' part")
            self._store_manifest(fields, files["file"][1])
            self._send_json({"data": {"received": sorted(fields)}}, HTTPStatus.CREATED)
            return
        if len(route) == 3 and route[0] == "projects" and route[2] == "latest-manifest" and method == "GET":
            self._bearer("dbt_api")
            self._send_latest_manifest(trimmed=query.get("trimmed", "false").lower() == "true")
            return
        if len(route) == 3 and route[0] == "environments" and route[2] == "files":
            self._bearer("dbt_api")
            root = self.server.data_dir / "internal" / "environments" / _segment(route[1])
            if method == "GET":
                self._send_internal_file(root, query)
            elif method == "POST":
                fields, files = self._multipart(body)
                stored = self._store_internal(root, fields, files)
                self._send_json({"data": stored}, HTTPStatus.CREATED)
            elif method == "DELETE":
                self._delete_internal(root, body)
            else:
                raise _Error(HTTPStatus.METHOD_NOT_ALLOWED, "unknown route")
            return
        raise _Error(
            HTTPStatus.NOT_FOUND if method == "GET" else HTTPStatus.METHOD_NOT_ALLOWED, "unknown route"
        )

    def _bearer(self, name: str) -> None:
        expected = self.server.named_tokens.get(name)
        if expected is None:
            flag = "--dbt-api-token" if name == "dbt_api" else "--manifest-token"
            raise _Error(HTTPStatus.UNAUTHORIZED, f"this server was started without {flag}")
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise _Error(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token")

    def _multipart(self, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        """The multipart body's text fields and file parts (recorded without the files' contents)."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _Error(HTTPStatus.BAD_REQUEST, "an upload must be multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            if not isinstance(name, str):
                continue
            filename = part.get_filename()
            if filename is not None:
                files[name] = (filename, payload)
                self._details["form"][name] = {"filename": filename, "size": len(payload)}
            else:
                fields[name] = payload.decode()
                self._details["form"][name] = fields[name]
        return fields, files

    def _store_internal(
        self, root: Path, fields: dict[str, str], files: dict[str, tuple[str, bytes]]
    ) -> list[dict[str, Any]]:
        stored = []
        for index in sorted(
            {k[len("files[") :].split("]", 1)[0] for k in [*fields, *files] if k.startswith("files[")}
        ):
            tag = fields.get(f"files[{index}][tag]", "")
            part = files.get(f"files[{index}][file]")
            if not tag or part is None:
                raise _Error(HTTPStatus.BAD_REQUEST, f"files[{index}] needs a [tag] field and a [file] part")
            filename, content = part
            folder = root / "tags" / _segment(tag)
            folder.mkdir(parents=True, exist_ok=True)
            meta = {
                "filename": filename,
                "tag": tag,
                "size": len(content),
                "sequence": self.server.next_sequence(),
            }
            (folder / ".content.partial").write_bytes(content)
            (folder / ".content.partial").replace(folder / "content")
            (folder / "meta.json").write_text(json.dumps(meta))
            stored.append(meta)
        if not stored:
            raise _Error(HTTPStatus.BAD_REQUEST, "an upload needs files[<i>][tag] and files[<i>][file]")
        return stored

    def _send_internal_file(self, root: Path, query: dict[str, str]) -> None:
        metas = [(p.parent, json.loads(p.read_text())) for p in (root / "tags").glob("*/meta.json")]
        if query.get("tag"):
            found = [m for m in metas if m[1]["tag"] == query["tag"]]
        elif query.get("filename"):
            found = [m for m in metas if m[1]["filename"] == query["filename"]]
        else:
            raise _Error(HTTPStatus.BAD_REQUEST, "pass ?tag= or ?filename=")
        if not found:
            raise _Error(HTTPStatus.NOT_FOUND, "no such file")
        folder, _meta = max(found, key=lambda item: item[1]["sequence"])
        content = (folder / "content").read_bytes()
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            self._send_file(folder / "content")
            return
        try:
            contents: Any = json.loads(text)
        except ValueError:
            contents = text
        self._send_json({"data": {"contents": contents}})

    def _delete_internal(self, root: Path, body: bytes) -> None:
        try:
            tag = json.loads(body or b"{}").get("tag")
        except (ValueError, AttributeError):
            tag = None
        self._details["form"] = {"tag": tag}
        if not isinstance(tag, str) or not tag:
            raise _Error(HTTPStatus.BAD_REQUEST, 'a delete needs the JSON body {"tag": <tag>}')
        folder = root / "tags" / _segment(tag)
        if not folder.exists():
            raise _Error(HTTPStatus.NOT_FOUND, f"no file with tag {tag!r}")
        shutil.rmtree(folder)
        self._send_json({"data": {"deleted": tag}})

    def _store_manifest(self, fields: dict[str, str], content: bytes) -> None:
        folder = self.server.data_dir / "internal" / "manifests" / f"{self.server.next_sequence():08d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_bytes(content)
        (folder / "fields.json").write_text(json.dumps(fields))

    def _send_latest_manifest(self, *, trimmed: bool) -> None:
        uploads = sorted((self.server.data_dir / "internal" / "manifests").glob("*/manifest.json"))
        if not uploads:
            raise _Error(HTTPStatus.NOT_FOUND, "no manifest uploaded")
        data = json.loads(uploads[-1].read_bytes())
        if trimmed:
            data = {k: data[k] for k in ("metadata", "nodes", "sources", "exposures") if k in data}
        self._send_json(data)

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


def _platform_route(segments: list[str]) -> list[str] | None:
    """What follows ``api/internal`` or ``api/v2/datacoves`` in a path, or None for other paths."""
    if segments[:2] == ["api", "internal"]:
        return segments[2:]
    if segments[:3] == ["api", "v2", "datacoves"]:
        return segments[3:]
    return None


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
    parser.add_argument(
        "--dbt-api-token",
        default=None,
        help="bearer token of the internal dbt API routes (the Variable datacoves-dbt-api-secret)",
    )
    parser.add_argument(
        "--manifest-token",
        default=os.environ.get("DATACOVES__UPLOAD_MANIFEST_TOKEN") or None,
        help="bearer token of the manifest upload route (DATACOVES__UPLOAD_MANIFEST_TOKEN)",
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
        dbt_api_token=args.dbt_api_token,
        manifest_token=args.manifest_token,
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
