"""The dbt project folder as the dbt operator sees it: what ``dbt_project.yml`` says, whether the
project's packages need ``dbt deps``, and where dbt writes ``run_results.json``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["PACKAGE_FILES", "PACKAGE_FOLDERS", "packages_missing", "read_project_file", "run_results_path"]

#: Folders whose presence means the project's packages are installed (``packages-install-path``
#: in dbt_project.yml names another one).
PACKAGE_FOLDERS = ("dbt_packages", "dbt_modules")
#: Files that declare packages; without one of them ``dbt deps`` has nothing to do.
PACKAGE_FILES = ("packages.yml", "dependencies.yml")


def read_project_file(project: Path) -> dict[str, Any]:
    """The project's ``dbt_project.yml`` as a dict; ``{}`` when it cannot be read (dbt itself
    reports a broken project file better than we could).

    :param project: the dbt project folder.
    """
    import yaml

    try:
        data = yaml.safe_load((project / "dbt_project.yml").read_text())
    except (OSError, yaml.YAMLError):
        return {}  # dbt itself reports a broken project file better than we could
    return data if isinstance(data, dict) else {}


def packages_missing(project: Path) -> bool:
    """Whether the project declares packages and none of its packages folders exists.

    :param project: the dbt project folder.
    """
    install_path = read_project_file(project).get("packages-install-path")
    folders = {*PACKAGE_FOLDERS, *([install_path] if isinstance(install_path, str) else [])}
    if any((project / folder).is_dir() for folder in folders):
        return False
    return any((project / name).is_file() for name in PACKAGE_FILES)


def run_results_path(project: Path, env: Mapping[str, str]) -> Path:
    """Where dbt writes run_results.json: ``DBT_TARGET_PATH`` or the project's ``target/``.

    :param project: the dbt project folder.
    :param env: the command's environment.
    """
    target_path = env.get("DBT_TARGET_PATH") or read_project_file(project).get("target-path") or "target"
    return project / str(target_path) / "run_results.json"
