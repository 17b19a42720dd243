"""CPU time by kind of process, machine-wide, while something runs (the test suite, say).

Samples /proc every 0.3 s and credits each process's own CPU time (user + system, not its children's)
to a kind read from its command line: ``airflow dags test``, ``airflow api-server``, ``dbt build``,
``postgres``, the pytest workers... Processes that live less than a sample are missed (they cost
little). Stop it with SIGINT or SIGTERM; it then writes the table to the file named.

Usage: python scripts/cpu_census.py <report-file> &  ...run something...;  kill -INT %1
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from types import FrameType

TICKS = os.sysconf("SC_CLK_TCK")


def kind(cmdline: str) -> str:
    """A short name for a process from its NUL-separated command line.

    :param cmdline: the content of /proc/<pid>/cmdline.
    """
    words = [w for w in cmdline.split("\0") if w]
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


def main() -> None:
    """Sample until signalled, then write the table."""
    report = sys.argv[1]
    seen: dict[tuple[str, str], list] = {}

    def write(_signum: int, _frame: FrameType | None) -> None:
        total: Counter[str] = Counter()
        count: Counter[str] = Counter()
        for name, seconds in seen.values():
            total[name] += seconds
            count[name] += 1
        with open(report, "w") as out:
            out.write(f"{'cpu s':>9} {'procs':>6}  kind\n")
            for name, seconds in total.most_common(40):
                out.write(f"{seconds:9.1f} {count[name]:6d}  {name}\n")
            out.write(f"{sum(total.values()):9.1f}  in all\n")
        sys.exit(0)

    signal.signal(signal.SIGINT, write)
    signal.signal(signal.SIGTERM, write)
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
                fields = stat.rsplit(")", 1)[1].split()
                key = (pid, fields[19])  # pid and start time: a pid can be reused
                if key not in seen:
                    with open(f"/proc/{pid}/cmdline") as f:
                        cmdline = f.read()
                    seen[key] = [kind(cmdline) if cmdline else "kernel", 0.0]
                seen[key][1] = (int(fields[11]) + int(fields[12])) / TICKS
            except (OSError, IndexError):
                continue
        time.sleep(0.3)


if __name__ == "__main__":
    main()
