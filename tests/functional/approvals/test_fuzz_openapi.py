"""Schemathesis fuzzes every operation of ``docs/openapi.yaml`` against the real function_app.py
on devhost: every response must conform to the document (status codes, schemas) and nothing
may answer 500. Run with a signed-in approver (the API's own paths) and with a forged principal
(everything must be refused, never crash).

Two checks are excluded because they judge the Functions host, not Warden: the host answers an
undeclared method (TRACE) or a path that matches no route with its own plain 404.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from devhost.server import DevHostThread
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import principal_header
from tests.functional.approvals.conftest import ROOT, seed

ST = Path(sys.executable).with_name("st")
if not ST.exists():  # pragma: no cover - `make setup` installs schemathesis
    raise RuntimeError(f"schemathesis is not installed ({ST} is missing): run `make setup`")
HOST_CHECKS = "unsupported_method,content_type_conformance"


def schemathesis(host: DevHostThread, workdir: Path, header: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(ST),
            "run",
            str(ROOT / "docs" / "openapi.yaml"),
            "--url",
            f"{host.url}/api",
            "-H",
            f"X-MS-CLIENT-PRINCIPAL:{header}",
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--exclude-checks",
            HOST_CHECKS,
            "--generation-database",
            "none",
            "--no-color",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=workdir,  # schemathesis keeps a crash cache in its working directory
    )


def test_every_operation_conforms_to_the_openapi_document(
    warden: DevHostThread, deps: ApprovalsDeps, tmp_path: Path
) -> None:
    seed(deps)
    seed(deps, "inc-2", requirement="two_approvers")
    result = schemathesis(warden, tmp_path, principal_header())
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_forged_principals_are_refused_and_never_crash_the_api(
    warden: DevHostThread, deps: ApprovalsDeps, tmp_path: Path
) -> None:
    seed(deps)
    for forged in ("not-base64!!", base64.b64encode(b'{"claims": "nope"}').decode(), principal_header(roles=())):
        result = schemathesis(warden, tmp_path, forged, "--checks", "not_a_server_error,status_code_conformance")
        assert result.returncode == 0, result.stdout[-6000:]
    assert deps.service.get_record("inc-1:approval:s1-switch-rai-policy").decisions == ()
