"""Every test that starts an Airflow process carries the ``slow`` marker, and stays that way.

``tests/conftest.py`` tells this module which test runs (:func:`running`) and installs an audit
hook (:func:`install`) that sees every subprocess this interpreter starts: starting the ``airflow``
command (``dags test``, ``db migrate``, a cluster's components, Celery workers) from a test that is
not marked ``slow`` fails that test, naming it and the fix. Outside a test (benchmarks, a fixture of
a later test's teardown) nothing is checked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


class SlowMarkerMissing(AssertionError):
    """A test started an Airflow process without the ``slow`` marker."""


@dataclass
class _Running:
    nodeid: str | None = None
    slow: bool = True


_running = _Running()
_installed = False


@contextmanager
def running(nodeid: str, slow: bool) -> Iterator[None]:
    """Within this block, test ``nodeid`` (marked ``slow`` or not) is the one running."""
    _running.nodeid, _running.slow = nodeid, slow
    try:
        yield
    finally:
        _running.nodeid, _running.slow = None, True


def require_slow(what: str) -> None:
    """Fail unless no test runs or the running test is marked ``slow``.

    :param what: the Airflow process about to start (for the message).
    """
    if _running.nodeid is not None and not _running.slow:
        raise SlowMarkerMissing(
            f"{_running.nodeid} starts an Airflow process ({what}) but is not marked slow: add "
            "`pytestmark = pytest.mark.slow` to its module (every test there starts Airflow) or "
            "`@pytest.mark.slow` to the test"
        )


def words_of(argv: object) -> list[str]:
    """The words of a command line as given to :class:`subprocess.Popen` (a list or a shell string)."""
    if isinstance(argv, str | bytes):
        return os.fsdecode(argv).split()
    if isinstance(argv, Sequence):
        return [os.fsdecode(a) if isinstance(a, str | bytes | os.PathLike) else str(a) for a in argv]
    return [os.fsdecode(argv)] if isinstance(argv, os.PathLike) else []


def is_airflow_command(argv: object) -> bool:
    """Whether ``argv`` (as given to :class:`subprocess.Popen`) runs the ``airflow`` command.

    :param argv: the command line (a list, or a string run through a shell).
    """
    words = words_of(argv)
    if not words:
        return False
    program = os.path.basename(words[0])
    return program == "airflow" or (program.startswith("python") and words[1:3] == ["-m", "airflow"])


def _audit(event: str, args: tuple) -> None:
    if event != "subprocess.Popen" or _running.nodeid is None or _running.slow:
        return
    words = words_of(args[1])
    if is_airflow_command(words):
        require_slow(" ".join(["airflow", *words[1:3]]))


#: Fixtures that start Airflow (checked at collection: a test using one must be marked slow).
AIRFLOW_FIXTURES = frozenset({"airflow_home"})


def unmarked_airflow_tests(items: Sequence[object]) -> list[str]:
    """Node ids of collected tests that use an Airflow-starting fixture without the ``slow`` marker.

    :param items: pytest's collected items.
    """
    return [
        item.nodeid  # type: ignore[attr-defined]
        for item in items
        if AIRFLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None  # type: ignore[attr-defined]
    ]


def install() -> None:
    """Install the audit hook (once per interpreter; audit hooks cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
