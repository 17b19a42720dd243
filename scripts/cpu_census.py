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
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test harness
from harness.profile import command_name  # the names the test profile gives the commands it counts

TICKS = os.sysconf("SC_CLK_TCK")


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
                    name = command_name([w for w in cmdline.split("\0") if w]) if cmdline else "kernel"
                    seen[key] = [name, 0.0]
                seen[key][1] = (int(fields[11]) + int(fields[12])) / TICKS
            except (OSError, IndexError):
                continue
        time.sleep(0.3)


if __name__ == "__main__":
    main()
