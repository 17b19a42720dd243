"""Carrying out the copy plan: folders, links and alternates made inline, files and clean subtrees
copied on a few threads (with GNU ``cp`` when there is one), then made writable by the owner."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor

from datacoves_airflow_provider.staging.plan import _Node

_COPY_THREADS = max(2, min(4, os.cpu_count() or 2))


@functools.cache
def _gnu_cp() -> str | None:
    """Path of GNU cp, which copies a batch of trees in one process (much faster than Python)."""
    path = shutil.which("cp")
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU coreutils" in out.stdout else None


def _copy_batch(dst_dir: str, sources: list[str]) -> None:
    """Copy files and whole trees into ``dst_dir``, keeping symlinks as symlinks."""
    cp = _gnu_cp()
    if cp:
        for start in range(0, len(sources), 500):
            chunk = sources[start : start + 500]
            proc = subprocess.run([cp, "-R", "-t", dst_dir, "--", *chunk], capture_output=True, text=True)
            if proc.returncode != 0:
                raise OSError(f"copying into {dst_dir} failed: {proc.stderr.strip()}")
        return
    for src in sources:  # portable fallback
        dst = os.path.join(dst_dir, os.path.basename(src))
        if os.path.isdir(src) and not os.path.islink(src):
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy(src, dst, follow_symlinks=False)


def _make_writable(path: str) -> None:
    """Give the owner write access everywhere in the copy (the source may be read-only files)."""
    chmod = shutil.which("chmod")
    if chmod and _gnu_cp():
        subprocess.run([chmod, "-R", "u+rwX", "--", path], check=True, capture_output=True)
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, os.stat(full).st_mode | stat.S_IRUSR | stat.S_IWUSR)


def _materialise(plan: _Node, dest: str, *, threads: int) -> None:
    """Create folders, links and alternates inline; copy files and clean subtrees on threads."""
    total = max(plan.files, 1)
    batches: list[tuple[int, str, str]] = []  # (weight, destination folder, source)

    def walk(node: _Node, dst: str) -> None:
        os.mkdir(dst, (os.stat(node.src).st_mode & 0o7777) | stat.S_IRWXU)
        for child in node.children:
            target = os.path.join(dst, child.dest_name)
            if child.kind == "dir" or (
                child.kind == "copy" and child.children and child.files * threads * 2 > total
            ):
                walk(child, target)  # split large subtrees so the copy threads stay balanced
            elif child.kind == "copy":
                batches.append((child.files, dst, child.src))
            elif child.kind == "link":
                os.symlink(child.src, target)
            elif child.kind == "alternates":
                os.makedirs(os.path.join(target, "info"), mode=0o700)
                os.makedirs(os.path.join(target, "pack"), mode=0o700)
                with open(os.path.join(target, "info", "alternates"), "w") as fh:
                    fh.write(os.path.realpath(child.src) + "\n")

    walk(plan, dest)
    bins: list[list[tuple[str, str]]] = [[] for _ in range(threads)]
    loads = [0] * threads
    for weight, dst, src in sorted(batches, reverse=True):
        i = loads.index(min(loads))
        loads[i] += weight
        bins[i].append((dst, src))

    def run_bin(items: list[tuple[str, str]]) -> None:
        by_dst: dict[str, list[str]] = {}
        for dst, src in items:
            by_dst.setdefault(dst, []).append(src)
        for dst, sources in by_dst.items():
            _copy_batch(dst, sources)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="datacoves-stage") as pool:
        for future in [pool.submit(run_bin, b) for b in bins if b]:
            future.result()
    _make_writable(dest)
