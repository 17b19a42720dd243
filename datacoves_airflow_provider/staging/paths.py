"""Two small path helpers of repository staging: placing a path below a folder, and showing a file
name that is not UTF-8 in a log line."""

from __future__ import annotations

import os

__all__ = ["is_within"]


def _display(name: str) -> str:
    """``name`` as it can be logged: a non-UTF-8 file name (bytes Python decoded with
    surrogateescape) shows its odd bytes as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_within(target: str, top: str) -> bool:
    """Whether the path ``target`` is ``top`` or lies below it (both as given: resolve links first
    where they matter).

    :param target: the path to place.
    :param top: the folder.
    """
    return target == top or target.startswith(top + os.sep)
