"""Benchmark: staging a realistic repository vs ``cp -rT`` of the same tree, in the same run.

Builds the synthetic repository (about 10,000 files and 200 MB: git history, dbt project with
earlier run outputs and installed packages, a virtualenv), then alternates our staging and
``cp -rT`` into the system temp folder (where tasks stage), five rounds each, and compares the medians.
A second, informational figure is taken on tmpfs (/dev/shm), where only CPU cost counts.

Run: .venvs/af3/bin/python bench/repo_staging.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_repo import build_synthetic_repo

from datacoves_airflow_provider.staging.repository import stage_repository

GOAL = 0.25
ROUNDS = 5


def measure(source: Path, base: Path) -> tuple[list[float], list[float]]:
    """Alternate the two copies; baseline copies are removed only at the end, so no round pays
    for an earlier round's deletion (on a disk mounted with ``discard`` that cost is large)."""
    ours: list[float] = []
    baseline: list[float] = []
    base.mkdir(parents=True, exist_ok=True)
    try:
        for i in range(ROUNDS):
            os.sync()
            start = time.perf_counter()
            subprocess.run(["cp", "-rT", str(source), str(base / f"cp-baseline-{i}")], check=True)
            baseline.append(time.perf_counter() - start)
            os.sync()
            start = time.perf_counter()
            with stage_repository(source, base_dir=base):
                ours.append(time.perf_counter() - start)
    finally:
        for i in range(ROUNDS):
            shutil.rmtree(base / f"cp-baseline-{i}", ignore_errors=True)
    return ours, baseline


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-staging-") as tmp:
        source = build_synthetic_repo(Path(tmp) / "repo")
        files = sum(len(f) for _, _, f in os.walk(source))
        size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file() and not p.is_symlink())
        print(f"synthetic repo: {files} files, {size / 1e6:.0f} MB")
        extra = []
        if Path("/dev/shm").is_dir():
            with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="bench-staging-") as shm:
                ours, base = measure(source, Path(shm))
                extra.append(
                    f"tmpfs: ours {statistics.median(ours):.3f}s, cp -rT {statistics.median(base):.3f}s, "
                    f"ratio {statistics.median(ours) / statistics.median(base):.3f}"
                )
        ours, base = measure(source, Path(tmp) / "stage")
        ours_med, base_med = statistics.median(ours), statistics.median(base)
        print(
            f"temp folder ({tempfile.gettempdir()}): ours {[round(x, 3) for x in ours]} s, "
            f"cp -rT {[round(x, 3) for x in base]} s"
        )
        for line in extra:
            print(line)
        print(f"median: ours {ours_med:.3f}s, cp -rT {base_med:.3f}s")
        print(f"BENCH repo_staging ratio={ours_med / base_med:.3f} goal={GOAL}")


if __name__ == "__main__":
    main()
