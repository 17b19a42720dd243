"""Writing a file so that no reader ever sees half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_destination"]


@contextlib.contextmanager
def atomic_destination(destination: Path) -> Iterator[Path]:
    """A private temporary path beside ``destination``: write it inside the block; it is renamed onto
    ``destination`` when the block succeeds and removed when it raises.

    :param destination: the file to (re)place; its folder is created when missing.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
