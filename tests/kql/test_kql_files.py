"""Every .kql file Warden sends is parsed and checked by Microsoft's Kusto parser.

An unknown column, table or function, or a syntax error, fails the build. The checker itself
is tested with queries that must fail, so a broken checker cannot pass silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kql.parser import ROOT, Diagnostic, check_queries, errors

KQL_FILES = sorted((ROOT / "shared").rglob("*.kql"))


def _describe(name: str, text: str, diags: list[Diagnostic]) -> str:
    lines = []
    for d in diags:
        line_no = text.count("\n", 0, d.start) + 1
        lines.append(f"{name}:{line_no}: {d.code} {d.message}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def file_diagnostics() -> dict[str, list[Diagnostic]]:
    return check_queries({str(p.relative_to(ROOT)): p.read_text() for p in KQL_FILES})


def test_the_project_ships_kql_queries() -> None:
    assert KQL_FILES, "no .kql files found under shared/"


@pytest.mark.parametrize("path", KQL_FILES, ids=lambda p: p.name)
def test_kql_file_has_no_errors(path: Path, file_diagnostics: dict[str, list[Diagnostic]]) -> None:
    name = str(path.relative_to(ROOT))
    bad = errors(file_diagnostics[name])
    assert not bad, "\n" + _describe(name, path.read_text(), bad)


def test_checker_reports_unknown_columns_and_syntax_errors() -> None:
    result = check_queries(
        {
            "unknown_column": "AzureActivity | where NoSuchColumn == 1",
            "unknown_table": "NoSuchTable | take 1",
            "syntax": "AzureMetrics | where MetricName == 'x' | summarize by",
            "good": "AzureMetrics | where MetricName == 'Tokens' | summarize sum(Total) by Resource",
            "graph": "resources | where type =~ 'microsoft.cognitiveservices/accounts' | project id, tags",
        }
    )
    assert any("NoSuchColumn" in d.message for d in errors(result["unknown_column"]))
    assert errors(result["unknown_table"])
    assert errors(result["syntax"])
    assert errors(result["good"]) == []
    assert errors(result["graph"]) == []


def test_log_analytics_tables_are_not_visible_to_resource_graph_queries() -> None:
    result = check_queries({"mixed": "resources | join (SecurityAlert) on $left.id == $right.ResourceId"})
    assert errors(result["mixed"])
