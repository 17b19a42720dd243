"""Where the suite's time goes: per test module, its wall time, the CPU time of the test process and
of the processes it waited for, and the commands it started (``airflow dags test``, ``db migrate``,
``dbt build``...).

Set ``DATACOVES_TEST_PROFILE=<file>`` on a run: each test appends one JSON line to the file (every
xdist worker appends to the same file; lines are short and written whole). Then::

    cd tests && python -m harness.profile <file> [airflow3|airflow2]

prints one row per module, longest first, and the totals (of one Airflow line, or of all).
Commands are counted where the test process starts them (a scheduler's own task processes are not
counted; their CPU time is, once the scheduler has been waited for, in the test that stopped it: a
module-scoped cluster's teardown).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.durations import line_key
from harness.slow_guard import words_of

PROFILE_FILE = os.environ.get("DATACOVES_TEST_PROFILE")
_commands: Counter[str] = Counter()
_forked_cpu = 0.0
_installed = False


def command_name(argv: object) -> str:
    """A short name for a command line: ``airflow dags test``, ``dbt build``, ``postgres``, ``celery``,
    ``pytest``, ``python -c``, the module or script a Python runs, else the program (here for the
    commands a test starts; ``scripts/cpu_census.py`` names the machine's processes with it too).

    :param argv: the command line as given to :class:`subprocess.Popen` (a list, or a shell string).
    """
    words = words_of(argv)
    if not words:
        return "?"
    program = os.path.basename(words[0])
    if program.startswith("python") and len(words) > 1:
        if words[1] == "-m" and len(words) > 2:
            program, words = words[2], words[2:]
        elif words[1] == "-c":
            return "python -c"
        else:
            program, words = os.path.basename(words[1]), words[1:]
    if program in ("airflow", "dbt"):
        return " ".join([program, *[w for w in words[1:3] if not w.startswith("-")][:2]])
    if "pytest" in program:
        return "pytest"
    if program.startswith("postgres"):
        return "postgres"
    if "celery" in " ".join(words[:3]):
        return "celery"
    return program[:40]


def _audit(event: str, args: tuple) -> None:
    if event == "subprocess.Popen":
        _commands[command_name(args[1])] += 1


def count_command(argv: object) -> None:
    """Count a command that :mod:`harness.airflow_cli` ran in a fork of its warm server (no Popen).

    :param argv: the command line.
    """
    _commands[command_name(argv)] += 1


def add_children_cpu(seconds: float) -> None:
    """Credit the CPU time of such a command, which this process did not wait for, to the running test.

    :param seconds: the command's user + system CPU time.
    """
    global _forked_cpu
    _forked_cpu += seconds


def install() -> None:
    """Count started commands from now on (only when ``DATACOVES_TEST_PROFILE`` is set)."""
    global _installed
    if PROFILE_FILE and not _installed:
        sys.addaudithook(_audit)
        _installed = True


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime + _forked_cpu


@contextmanager
def measuring(module: str) -> Iterator[None]:
    """Append one line for the test run in this block to the profile file (if one is set).

    :param module: the test's module key (``test_x.py``).
    """
    if not PROFILE_FILE:
        yield
        return
    _commands.clear()
    wall, (own, children) = time.monotonic(), _cpu()
    try:
        yield
    finally:
        own_after, children_after = _cpu()
        line = {
            "line": line_key(),
            "module": module,
            "wall": round(time.monotonic() - wall, 2),
            "cpu": round(own_after - own, 2),
            "children_cpu": round(children_after - children, 2),
            "commands": dict(_commands),
        }
        with open(PROFILE_FILE, "a") as out:
            out.write(json.dumps(line) + "\n")


def summarize(path: Path, line: str | None = None) -> str:
    """The per-module table of a profile file.

    :param path: a file written by a run with ``DATACOVES_TEST_PROFILE`` set.
    :param line: only this Airflow line's tests (``airflow3``, ``airflow2``); default all.
    """
    rows: dict[str, dict] = defaultdict(lambda: {"tests": 0, "wall": 0.0, "cpu": 0.0, "commands": Counter()})
    for text in path.read_text().splitlines():
        record = json.loads(text)
        if line is not None and record.get("line") != line:
            continue
        row = rows[record["module"]]
        row["tests"] += 1
        row["wall"] += record["wall"]
        row["cpu"] += record["cpu"] + record["children_cpu"]
        row["commands"].update(record["commands"])
    out = [f"{'wall s':>8} {'cpu s':>8} {'tests':>5}  module: commands started"]
    total = {"wall": 0.0, "cpu": 0.0, "commands": Counter()}
    for module, row in sorted(rows.items(), key=lambda kv: -kv[1]["wall"]):
        commands = ", ".join(f"{n}x{c}" for c, n in row["commands"].most_common() if c != "git")
        out.append(f"{row['wall']:8.1f} {row['cpu']:8.1f} {row['tests']:5d}  {module}: {commands}")
        for key in ("wall", "cpu"):
            total[key] += row[key]
        total["commands"].update(row["commands"])
    airflow = sum(n for c, n in total["commands"].items() if c.startswith("airflow"))
    out.append(
        f"{total['wall']:8.1f} {total['cpu']:8.1f} {sum(r['tests'] for r in rows.values()):5d}  "
        f"in all; airflow commands started by tests: {airflow} "
        f"({', '.join(f'{c}x{n}' for c, n in total['commands'].most_common() if c.startswith('airflow'))})"
    )
    return "\n".join(out)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))
