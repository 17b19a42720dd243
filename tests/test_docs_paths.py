"""The README and docs name only modules and files that exist (the package moves; the docs follow)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: top-level folders of this repository a doc may name a file in
REPO_FOLDERS = ("datacoves_airflow_provider/", "tests/", "bench/", "scripts/", "example_dags/", "docs/")
PACKAGE_FOLDERS = tuple(
    f"{p.name}/" for p in (ROOT / "datacoves_airflow_provider").iterdir() if p.is_dir() and p.name != "__pycache__"
)


def _named_files(text: str) -> set[str]:
    paths = set(re.findall(r"(?<![\w./-])((?:[\w-]+/)+[\w.-]+\.(?:py|sh|md|json))\b", text))
    return {p for p in paths if p.startswith(REPO_FOLDERS + PACKAGE_FOLDERS)}


def _named_modules(text: str) -> set[str]:
    return set(re.findall(r"\bdatacoves_airflow_provider(?:\.[a-z_0-9]+)+", text))


def _module_or_attribute_exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable prefix, the rest attributes
        name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(name)
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_files_the_doc_names_exist(doc: Path) -> None:
    missing = sorted(
        p
        for p in _named_files(doc.read_text())
        if not (ROOT / p).exists() and not (ROOT / "datacoves_airflow_provider" / p).exists()
    )
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_modules_the_doc_names_import(doc: Path) -> None:
    missing = sorted(m for m in _named_modules(doc.read_text()) if not _module_or_attribute_exists(m))
    assert not missing, f"{doc.name} names modules or names that do not exist: {missing}"
