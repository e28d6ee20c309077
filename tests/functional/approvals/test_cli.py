"""``warden approvals list|approve|reject --endpoint URL`` against devhost's HTTP API."""

from __future__ import annotations

import pytest

from cli.main import main
from devhost.server import DevHostThread
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import principal_header
from tests.functional.approvals.conftest import seed


def test_list_then_approve_from_the_command_line(
    warden: DevHostThread, deps: ApprovalsDeps, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(deps)
    monkeypatch.setenv("WARDEN_CLIENT_PRINCIPAL", principal_header("alice@contoso.com"))
    assert main(["approvals", "list", "--endpoint", warden.url]) == 0
    assert "inc-1 s1-switch-rai-policy: switch_rai_policy" in capsys.readouterr().out
    code = main(["approvals", "approve", "inc-1", "s1-switch-rai-policy", "-j", "seen it", "--endpoint", warden.url])
    assert code == 0 and "the step is now approved" in capsys.readouterr().out
    record = deps.service.get_record("inc-1:approval:s1-switch-rai-policy")
    assert record.decisions[0].channel == "cli" and record.decisions[0].approver_id == "oid-alice@contoso.com"
    again = main(["approvals", "reject", "inc-1", "s1-switch-rai-policy", "-j", "no", "--endpoint", warden.url])
    assert again == 1 and "HTTP 409" in capsys.readouterr().out


def test_the_cli_reports_a_missing_sign_in(
    warden: DevHostThread, deps: ApprovalsDeps, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARDEN_CLIENT_PRINCIPAL", raising=False)
    monkeypatch.delenv("WARDEN_ACCESS_TOKEN", raising=False)
    assert main(["approvals", "list", "--endpoint", warden.url]) == 1
    assert "HTTP 401" in capsys.readouterr().out
