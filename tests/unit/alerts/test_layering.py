"""shared/alerts is pure core: no Functions import, no reading of the reference folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "shared" / "alerts"
SOURCES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_module_imports_no_functions_sdk_and_reads_no_reference_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {m for m in imported if m.split(".")[0] == "azure"}
    assert "/work/shared" not in text
    assert "../shared" not in text


def test_catalogue_data_ships_inside_the_package() -> None:
    assert (PACKAGE / "defender_ai_alerts.json").is_file()
