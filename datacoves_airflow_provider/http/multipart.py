"""A streamed ``multipart/form-data`` upload body (one file, read from disk as it is sent)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["MultipartFileBody"]


class MultipartFileBody:
    """A ``multipart/form-data`` body that streams one file from disk, for ``requests``' ``data=``.

    ``requests`` builds a ``files=`` body whole in memory (a 50 MB manifest held twice); this one
    is read from disk in 1 MiB chunks as it is sent, with its length known up front (so the
    request has a ``Content-Length``), and it can be iterated again from the start, so a retried
    request sends the whole file again.

    :param fields: the form's text fields, in order.
    :param file_field: the file part's field name.
    :param filename: the file name the part declares.
    :param path: the local file to send.
    :param content_type: the file part's content type.
    """

    chunk_size = 1024 * 1024

    def __init__(
        self,
        fields: Mapping[str, str],
        *,
        file_field: str,
        filename: str,
        path: Path,
        content_type: str = "application/octet-stream",
    ) -> None:
        from urllib3.fields import format_multipart_header_param as param

        self.boundary = uuid.uuid4().hex
        dash = f"--{self.boundary}\r\n"
        head = b"".join(
            f"{dash}Content-Disposition: form-data; {param('name', name)}\r\n\r\n".encode()
            + value.encode("utf-8")
            + b"\r\n"
            for name, value in fields.items()
        )
        disposition = f"form-data; {param('name', file_field)}; {param('filename', filename)}"
        head += f"{dash}Content-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._path = path
        self._size = path.stat().st_size

    @property
    def content_type(self) -> str:
        """The request's ``Content-Type`` header, with the boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        with self._path.open("rb") as handle:
            while sent < self._size and (chunk := handle.read(min(self.chunk_size, self._size - sent))):
                sent += len(chunk)
                yield chunk
        if sent != self._size:
            raise OSError(f"{self._path} changed size while it was being uploaded")
        yield self._tail
