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


def is_airflow_command(argv: str | bytes | Sequence[object]) -> bool:
    """Whether ``argv`` (as given to :class:`subprocess.Popen`) runs the ``airflow`` command.

    :param argv: the command line (a list, or a string run through a shell).
    """
    words = os.fsdecode(argv).split() if isinstance(argv, str | bytes) else [os.fsdecode(a) for a in argv]  # type: ignore[arg-type]
    if not words:
        return False
    if os.path.basename(words[0]) == "airflow":
        return True
    return os.path.basename(words[0]).startswith("python") and words[1:3] == ["-m", "airflow"]


def _audit(event: str, args: tuple) -> None:
    if event == "subprocess.Popen" and _running.nodeid is not None and not _running.slow:
        argv = args[1]
        if argv is not None and is_airflow_command(argv):
            words = argv.split() if isinstance(argv, str) else [os.fsdecode(a) for a in argv]
            require_slow(" ".join(["airflow", *words[1:3]]))


def install() -> None:
    """Install the audit hook (once per interpreter; audit hooks cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
