"""The suite's order: slow modules first, longest first, by durations measured and committed.

``tests/durations.json`` holds, per Airflow line, each test module's measured duration in seconds
(the setup, call and teardown times of its tests, module fixtures included). The collection hook
(:func:`order_items`) puts modules that carry the ``slow`` marker first, longest first, then slow
modules with no recorded duration, then the other modules (longest first, unknown last). Under
``pytest-xdist --dist loadscope`` a module is handed out whole, in this order, so the long ones start
first and no worker is left alone with one at the end. Tests keep their order within a module.

Refresh the file after adding or changing long tests, from a full run on each line::

    .venvs/af3/bin/python -m pytest -n 2 --dist loadscope -p no:cacheprovider --record-durations
    .venvs/af2/bin/python -m pytest -n 2 --dist loadscope -p no:cacheprovider --record-durations

(only the modules that ran are updated; tests/conftest.py turns off xdist's own reordering by test
count). ``python tests/harness/durations.py`` prints the order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
DURATIONS_FILE = TESTS / "durations.json"


def line_key() -> str:
    """This interpreter's Airflow line as named in the file (``airflow3``, ``airflow2``)."""
    return f"airflow{version('apache-airflow').split('.')[0]}"


def module_key(nodeid_or_path: str | Path) -> str:
    """A module's key in the file: its path below tests/ (``test_x.py``, ``platform_image/test_y.py``).

    :param nodeid_or_path: a test's node id (relative to the rootdir) or a module's path.
    """
    text = str(nodeid_or_path).split("::", 1)[0]
    path = Path(text)
    if path.is_absolute():
        try:
            return path.relative_to(TESTS).as_posix()
        except ValueError:
            return path.as_posix()
    parts = path.parts
    return Path(*parts[1:]).as_posix() if parts and parts[0] == TESTS.name else path.as_posix()


def load(path: Path = DURATIONS_FILE) -> dict[str, dict[str, float]]:
    """The recorded durations: line -> module -> seconds (empty if there is no file)."""
    return json.loads(path.read_text()) if path.exists() else {}


def known_durations(recorded: dict[str, dict[str, float]], line: str) -> dict[str, float]:
    """Module -> seconds for ``line``, the other lines' figures filling its gaps."""
    merged: dict[str, float] = {}
    for other, modules in recorded.items():
        if other != line:
            merged.update(modules)
    merged.update(recorded.get(line, {}))
    return merged


def order_items(items: list[Any], recorded: dict[str, dict[str, float]] | None = None) -> None:
    """Sort collected items in place: slow modules longest first, then the others; stable within a module.

    :param items: pytest's collected items.
    :param recorded: the durations (default: tests/durations.json).
    """
    seconds = known_durations(load() if recorded is None else recorded, line_key())
    first_index: dict[str, int] = {}
    slow: set[str] = set()
    for index, item in enumerate(items):
        module = module_key(item.path)
        first_index.setdefault(module, index)
        if item.get_closest_marker("slow") is not None:
            slow.add(module)

    def rank(module: str) -> tuple[int, float, int]:
        known = module in seconds
        group = (0 if known else 1) if module in slow else (2 if known else 3)
        return group, -seconds.get(module, 0.0), first_index[module]

    ranks = {module: rank(module) for module in first_index}
    items.sort(key=lambda item: ranks[module_key(item.path)])


class Recorder:
    """Sums the reported phase durations per module, and merges them into the file."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: Any) -> None:
        """Count one test phase's report (setup, call or teardown)."""
        self.seconds[module_key(report.nodeid)] += float(report.duration)

    def write(self, path: Path = DURATIONS_FILE) -> None:
        """Update this line's modules in the file (others stay as they were)."""
        if not self.seconds:
            return
        recorded = load(path)
        modules = recorded.setdefault(line_key(), {})
        modules.update({module: round(total, 1) for module, total in self.seconds.items()})
        recorded[line_key()] = dict(sorted(modules.items(), key=lambda kv: (-kv[1], kv[0])))
        path.write_text(json.dumps(dict(sorted(recorded.items())), indent=2) + "\n")


recorder = Recorder()


def main() -> None:
    """Print the recorded durations of this interpreter's line, longest first."""
    seconds = known_durations(load(), line_key())
    for module, total in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"{total:8.1f}  {module}")


if __name__ == "__main__":
    main()
