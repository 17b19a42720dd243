"""The reference Datacoves API server's public v3 routes (the module docstring of
:mod:`datacoves_airflow_provider.testing.datacoves_api_server` documents them): files with tags,
kept on disk, and secrets, behind one bearer token."""

from __future__ import annotations

import hmac
import json
import shutil
import tempfile
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datacoves_airflow_provider.testing.api_server_base import _BaseHandler, _Error, _segment

_UNTAGGED = "_untagged"


class _PublicRoutes(_BaseHandler):
    """The ``api/v3`` routes."""

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
        fields: dict[str, str] = {}
        content: bytes | None = None
        for name, _filename, payload in self._form_parts(body, "upload must be multipart/form-data"):
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
