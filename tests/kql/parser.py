"""Run Microsoft's Kusto.Language parser (npm ``@kusto/language-service-next``) from Python.

``check_queries`` sends queries to ``tools/kql_check.js`` (node) and returns every
diagnostic. Log Analytics queries are checked against the documented schemas of
AzureActivity, AzureDiagnostics, AzureMetrics and SecurityAlert; Resource Graph queries against
the ``resources`` table. Schemas: ``tests/kql/table_schemas.json`` (sources inside).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "kql_check.js"
SCHEMAS = Path(__file__).with_name("table_schemas.json")
LOG_ANALYTICS_TABLES = ("AzureActivity", "AzureDiagnostics", "AzureMetrics", "SecurityAlert")
RESOURCE_GRAPH_TABLES = ("resources",)


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    code: str
    message: str
    start: int
    length: int


def _databases() -> dict[str, dict[str, list[list[str]]]]:
    schemas = json.loads(SCHEMAS.read_text())
    return {
        "loganalytics": {t: schemas[t]["columns"] for t in LOG_ANALYTICS_TABLES},
        "resourcegraph": {t: schemas[t]["columns"] for t in RESOURCE_GRAPH_TABLES},
    }


def database_for(text: str) -> str:
    """Resource Graph queries read the ``resources`` table; everything else is Log Analytics."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    tokens = body.replace("|", " ").replace(";", " ").split()
    return "resourcegraph" if "resources" in tokens else "loganalytics"


def check_queries(queries: dict[str, str]) -> dict[str, list[Diagnostic]]:
    """Parse and semantically check each query; returns diagnostics (errors and warnings) by name."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed; the KQL check needs Node.js 20 (make setup installs it)")
    if not (ROOT / "node_modules" / "@kusto" / "language-service-next").is_dir():
        raise RuntimeError("@kusto/language-service-next is not installed; run `npm install` (make setup does)")
    request = {
        "databases": _databases(),
        "queries": [{"name": n, "database": database_for(t), "text": t} for n, t in queries.items()],
    }
    done = subprocess.run(
        [node, str(CHECKER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kql_check.js failed ({done.returncode}): {done.stderr.strip()}")
    results = json.loads(done.stdout)["results"]
    return {r["name"]: [Diagnostic(**d) for d in r["diagnostics"]] for r in results}


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "Error"]
