"""Repositories for tests: git commits, the small sample repository, copies of the demo repository,
and fingerprints of a folder tree (to prove a run left it unchanged)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Every file, folder and link below ``root`` with its content hash / target and mode."""
    result: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                result[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                result[rel] = f"dir:{oct(st.st_mode)}"
            else:
                result[rel] = f"file:{oct(st.st_mode)}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    return result


def git_commit_all(root: Path) -> None:
    """Make ``root`` a git repository on branch main with everything in one commit."""
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(["git", *args], cwd=root, env=git_env, check=True)


def build_sample_repo(root: Path) -> Path:
    """A small Datacoves-style repository with git history, a dbt project and helper modules."""
    files = {
        "orchestrate/__init__.py": "",
        "orchestrate/utils/__init__.py": "",
        "orchestrate/utils/helpers.py": "GREETING = 'hello from the repo copy'\n",
        "orchestrate/python_scripts/sample_script.py": (
            "import csv, io\n"
            "rows = [{'Name': 'Alice', 'Age': 25}, {'Name': 'Bob', 'Age': 30}]\n"
            "out = io.StringIO(); w = csv.DictWriter(out, ['Name', 'Age']); w.writeheader(); w.writerows(rows)\n"
            "print(out.getvalue())\n"
        ),
        "transform/dbt_project.yml": "name: sample\nversion: '1.0'\nprofile: default\n",
        "transform/models/example.sql": "select 1 as id\n",
        "README.md": "sample repo\n",
        ".gitignore": "transform/target/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git_commit_all(root)
    (root / "transform" / "target").mkdir()
    (root / "transform" / "target" / "manifest.json").write_text("{}")
    return root


def copy_as_git_repo(source: Path, dest: Path) -> Path:
    """Copy ``source`` to ``dest`` and commit it, like a git-sync checkout."""
    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    )
    git_commit_all(dest)
    return dest
