"""checkov (Bicep framework) passes on infra/ with zero failed checks.

checkov runs from the separate tools venv (.venv-tools, built by scripts/tools-venv.sh, which the
Makefile runs before the tests): its pins conflict with the app's. Every suppression is an
inline ``#checkov:skip=CKV_...: reason`` in the Bicep, must carry a reason, must be one of the
reviewed suppressions below, and must actually suppress something.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep import INFRA, REPO, suppressions

CHECKOV = Path(os.environ.get("WARDEN_CHECKOV", REPO / ".venv-tools" / "bin" / "checkov"))

# Reviewed suppressions (file, check). A new skip must be added here deliberately, with its
# reason written next to it in the Bicep and listed in docs/deploy.md.
REVIEWED_SUPPRESSIONS = {
    # No VNet in this deployment: public endpoints with Entra-only auth (see docs/deploy.md).
    ("modules/storage.bicep", "CKV_AZURE_35"),
    ("modules/storage.bicep", "CKV_AZURE_59"),
    ("modules/keyvault.bicep", "CKV_AZURE_109"),
    ("modules/keyvault.bicep", "CKV_AZURE_189"),
    ("modules/eventgrid-topic.bicep", "CKV_AZURE_193"),
    ("modules/functionapp.bicep", "CKV_AZURE_222"),
    # Computed name the check cannot evaluate.
    ("modules/storage.bicep", "CKV_AZURE_43"),
    # Not applicable to Flex Consumption / Event Grid webhook delivery.
    ("modules/functionapp.bicep", "CKV_AZURE_17"),
    ("modules/functionapp.bicep", "CKV_AZURE_212"),
    ("modules/functionapp.bicep", "CKV_AZURE_213"),
    ("modules/functionapp.bicep", "CKV_AZURE_225"),
    # False positives: site-level checks applied to the sites/config children.
    *{
        (path, check)
        for path in ("modules/functionapp.bicep", "modules/functionapp-auth.bicep")
        for check in (
            "CKV_AZURE_13",
            "CKV_AZURE_63",
            "CKV_AZURE_65",
            "CKV_AZURE_66",
            "CKV_AZURE_80",
            "CKV_AZURE_88",
            "CKV_AZURE_222",
        )
    },
}

# Files with resources checkov has checks for; each must show up in its results (proof it parsed).
CHECKED_FILES = {
    "/main.bicep",
    "/modules/storage.bicep",
    "/modules/keyvault.bicep",
    "/modules/kv-secret.bicep",
    "/modules/functionapp.bicep",
    "/modules/functionapp-auth.bicep",
    "/modules/eventgrid-topic.bicep",
    "/modules/eventhub.bicep",
}


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov not found at {CHECKOV}. Build the tools venv first: scripts/tools-venv.sh "
            "(make test runs it before pytest). It is a separate venv because checkov's pins conflict "
            "with the app's."
        )
    # --skip-download: never contact the Prisma Cloud / Bridgecrew API (offline, reproducible).
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "bicep", "-o", "json", "--skip-download"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
    )
    assert completed.returncode in (0, 1), f"checkov crashed ({completed.returncode}):\n{completed.stderr[-4000:]}"
    assert "Failed to run check" not in completed.stderr, completed.stderr[-4000:]
    report = json.loads(completed.stdout)
    assert isinstance(report, dict), f"expected one (bicep) report, got {type(report).__name__}"
    assert report["check_type"] == "bicep"
    return report


def test_checkov_reports_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert checkov_report["summary"]["failed"] == 0, "\n".join(failed)


def test_checkov_parsed_every_file(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0
    results = checkov_report["results"]
    seen = {c["file_path"] for c in results["passed_checks"] + results["skipped_checks"]}
    assert seen >= CHECKED_FILES, f"no checkov results for {sorted(CHECKED_FILES - seen)}"


def test_checkov_ran_a_meaningful_number_of_checks(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["passed"] >= 30


def test_every_suppression_has_a_reason() -> None:
    for skip in suppressions():
        assert len(skip.reason) >= 40, f"{skip.file}:{skip.line} {skip.check_id}: give the reason inline"


def test_suppressions_are_the_reviewed_ones() -> None:
    found = {(skip.file, skip.check_id) for skip in suppressions()}
    assert found == REVIEWED_SUPPRESSIONS, {
        "unreviewed": sorted(found - REVIEWED_SUPPRESSIONS),
        "missing": sorted(REVIEWED_SUPPRESSIONS - found),
    }


def test_every_suppression_suppresses_a_check(checkov_report: dict[str, Any]) -> None:
    skipped = {(c["file_path"].lstrip("/"), c["check_id"]) for c in checkov_report["results"]["skipped_checks"]}
    stale = {(skip.file, skip.check_id) for skip in suppressions()} - skipped
    assert not stale, f"suppressions that match no check (remove them): {sorted(stale)}"
