"""A repository laid out as on a Datacoves worker (PLATFORM.md §1): git-sync's read-only clone and a
``DATACOVES__REPO_PATH`` that does not exist yet."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.paths import DEMO_REPO
from harness.repos import git_commit_all

#: The repository's own dbt profile in the platform layout (env-var delivery mode, DuckDB).
PLATFORM_PROFILES = """\
default:
  target: prd
  outputs:
    prd:
      type: duckdb
      path: "{{ env_var('DUCKDB_PATH') }}"
      threads: 2
"""


@dataclass
class PlatformRepo:
    """A repository laid out as on a Datacoves worker (PLATFORM.md §1): git-sync's read-only clone
    (``<root>/repo``, a link to ``.worktrees/<hash>``, every file made unwritable) and a
    ``DATACOVES__REPO_PATH`` that does not exist."""

    root: Path
    clone: Path
    read_write: Path

    def env(self) -> dict[str, str]:
        """The repository variables the platform sets."""
        return {
            "DATACOVES__REPO_PATH_RO": str(self.clone),
            "DATACOVES__REPO_PATH": str(self.read_write),
            "DATACOVES__DBT_HOME": str(self.clone / "transform"),
            "DBT_PROFILES_DIR": str(self.clone / "automate" / "dbt"),
            "PYTHONPATH": str(self.clone),
        }


def build_platform_repo(base: Path, dag_files: Iterable[Path] = ()) -> PlatformRepo:
    """The demo repository as git-sync lays it out, read-only, with a DuckDB profile and an
    importable module (``orchestrate/platform_probe.py``); ``DATACOVES__REPO_PATH`` under ``base``
    does not exist. ``dag_files`` are copied into the clone's ``orchestrate/dags`` (the platform's
    DAGs folder lies in the clone). Give the result to :func:`release_platform_repo` when done."""
    root = base / "dags"
    worktree = root / ".worktrees" / "5f3c1a9e"
    shutil.copytree(
        DEMO_REPO, worktree, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    )
    (worktree / "automate" / "dbt" / "profiles.yml").write_text(PLATFORM_PROFILES)
    (worktree / "orchestrate" / "__init__.py").write_text("")
    (worktree / "orchestrate" / "platform_probe.py").write_text("WHERE = __file__\n")
    for dag_file in dag_files:
        (worktree / "orchestrate" / "dags").mkdir(exist_ok=True)
        shutil.copy(dag_file, worktree / "orchestrate" / "dags")
    git_commit_all(worktree)
    (root / "repo").symlink_to(".worktrees/5f3c1a9e")
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    return PlatformRepo(root=root, clone=root / "repo", read_write=base / "airflow_repo")


def release_platform_repo(platform: PlatformRepo) -> None:
    """Make the layout writable again, so the temporary folder can be removed."""
    subprocess.run(["chmod", "-R", "u+w", str(platform.root)], check=True)
