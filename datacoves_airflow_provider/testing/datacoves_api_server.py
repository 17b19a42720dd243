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
import hmac
import json
import os
import sys
import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from datacoves_airflow_provider.testing.api_server_base import _Error
from datacoves_airflow_provider.testing.api_server_platform import _platform_route, _PlatformRoutes
from datacoves_airflow_provider.testing.api_server_public import _PublicRoutes

__all__ = ["DatacovesApiServer", "main"]


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


class _Handler(_PublicRoutes, _PlatformRoutes):
    # -- dispatch ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

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
