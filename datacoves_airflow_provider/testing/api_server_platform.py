"""The reference Datacoves API server's platform routes (the module docstring of
:mod:`datacoves_airflow_provider.testing.datacoves_api_server` documents them): the secrets route a
Datacoves worker calls, and the internal dbt API and manifest routes."""

from __future__ import annotations

import hmac
import json
import shutil
from http import HTTPStatus
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.testing.api_server_base import _BaseHandler, _Error, _segment


class _PlatformRoutes(_BaseHandler):
    """The routes of the platform's dialect (``api/v1/secrets``, ``api/internal``, ``api/v2/datacoves``)."""

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
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for name, filename, payload in self._form_parts(body, "an upload must be multipart/form-data"):
            if not isinstance(name, str):
                continue
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


def _platform_route(segments: list[str]) -> list[str] | None:
    """What follows ``api/internal`` or ``api/v2/datacoves`` in a path, or None for other paths."""
    if segments[:2] == ["api", "internal"]:
        return segments[2:]
    if segments[:3] == ["api", "v2", "datacoves"]:
        return segments[3:]
    return None
