"""Model allowlist and posture rules on plain data."""

from __future__ import annotations

from shared.anomalies.allowlist import unapproved_deployment_finding
from shared.anomalies.posture import account_posture_findings, defender_finding, diagnostics_finding
from shared.azure.posture import diagnostic_setting_from_json
from shared.policy import Policy
from shared.ports.cognitive import DeploymentInfo
from shared.ports.inventory import AiAccount
from shared.ports.posture import DefenderPlan, DiagnosticSetting
from tests.unit.anomalies.conftest import ACCOUNT, NOW, SUB


def deployment(name: str, version: str | None = "2024-11-20", fmt: str = "OpenAI", dep: str = "chat") -> DeploymentInfo:
    return DeploymentInfo(id=ACCOUNT.deployment(dep), model_name=name, model_version=version, model_format=fmt)


def test_allowed_models_raise_nothing(policy: Policy) -> None:
    assert unapproved_deployment_finding(policy, deployment("gpt-4o"), now=NOW, seen_by="sweep") is None
    assert (
        unapproved_deployment_finding(policy, deployment("GPT-4O-MINI", fmt="openai"), now=NOW, seen_by="sweep") is None
    )


def test_unapproved_model_is_a_finding_on_the_deployment(policy: Policy) -> None:
    finding = unapproved_deployment_finding(policy, deployment("llama-3-70b", "1", "Meta"), now=NOW, seen_by="event")
    assert finding is not None and finding.kind == "model:unapproved_deployment"
    assert finding.resource == ACCOUNT.deployment("chat")
    assert finding.evidence["model"] == {"name": "llama-3-70b", "version": "1", "format": "Meta"}
    assert (
        finding.dedupe_key
        == f"model:unapproved_deployment|{str(ACCOUNT.deployment('chat')).lower()}|meta/llama-3-70b@1"
    )


def test_event_and_sweep_give_the_same_dedupe_key(policy: Policy) -> None:
    dep = deployment("gpt-35-turbo", "0613")
    by_event = unapproved_deployment_finding(policy, dep, now=NOW, seen_by="event")
    by_sweep = unapproved_deployment_finding(policy, dep, now=NOW, seen_by="sweep")
    assert by_event is not None and by_sweep is not None
    assert by_event.dedupe_key == by_sweep.dedupe_key


def test_a_version_allowlist_is_exact(policy: Policy) -> None:
    models = policy.models.model_copy(
        update={"allowlist": (policy.models.allowlist[0].model_copy(update={"versions": ("2024-11-20",)}),)}
    )
    strict = policy.model_copy(update={"models": models})
    assert unapproved_deployment_finding(strict, deployment("gpt-4o", "2024-11-20"), now=NOW, seen_by="sweep") is None
    assert (
        unapproved_deployment_finding(strict, deployment("gpt-4o", "2024-05-13"), now=NOW, seen_by="sweep") is not None
    )


def test_an_empty_allowlist_enforces_nothing_and_no_model_name_is_not_judged(policy: Policy) -> None:
    open_policy = policy.model_copy(update={"models": policy.models.model_copy(update={"allowlist": ()})})
    assert unapproved_deployment_finding(open_policy, deployment("anything"), now=NOW, seen_by="sweep") is None
    assert unapproved_deployment_finding(policy, deployment(""), now=NOW, seen_by="sweep") is None


def account(**kw: object) -> AiAccount:
    values: dict[str, object] = {"id": ACCOUNT, "kind": "OpenAI", "disable_local_auth": True}
    values.update(kw)
    return AiAccount(**values)  # type: ignore[arg-type]


def kinds(acct: AiAccount) -> set[str]:
    return {f.kind for f in account_posture_findings(acct, now=NOW)}


def test_public_network_open_needs_public_access_and_no_deny_rule() -> None:
    assert kinds(account(public_network_access="Enabled", network_default_action="Allow")) == {
        "posture:public_network_open"
    }
    assert kinds(account(public_network_access=None, network_default_action=None)) == {"posture:public_network_open"}
    assert kinds(account(public_network_access="Enabled", network_default_action="Deny", ip_rule_count=2)) == set()
    assert kinds(account(public_network_access="Disabled", network_default_action="Allow")) == set()


def test_local_auth_enabled_when_not_disabled() -> None:
    assert "posture:local_auth_enabled" in kinds(account(disable_local_auth=False, public_network_access="Disabled"))


def test_no_diagnostic_settings_unless_one_exports_something() -> None:
    acct = account()
    assert diagnostics_finding(acct, [], now=NOW) is not None
    no_destination = DiagnosticSetting(name="empty", enabled_logs=("allLogs",))
    nothing_enabled = DiagnosticSetting(name="off", workspace_id="/subscriptions/x/ws")
    finding = diagnostics_finding(acct, [no_destination, nothing_enabled], now=NOW)
    assert finding is not None and finding.evidence["diagnostic_settings"] == ["empty", "off"]
    good = DiagnosticSetting(name="on", workspace_id="/subscriptions/x/ws", metrics_enabled=True)
    assert diagnostics_finding(acct, [nothing_enabled, good], now=NOW) is None
    assert finding.dedupe_key == f"posture:no_diagnostic_settings|{str(ACCOUNT).lower()}"


def test_diagnostic_setting_json_is_read_tolerantly() -> None:
    parsed = diagnostic_setting_from_json(
        {
            "name": "s",
            "properties": {
                "workspaceId": "/subscriptions/x/ws",
                "logs": [{"categoryGroup": "allLogs", "enabled": True}, {"category": "Trace", "enabled": False}],
                "metrics": [{"category": "AllMetrics", "enabled": False}],
            },
        }
    )
    assert parsed.enabled_logs == ("allLogs",) and not parsed.metrics_enabled and parsed.exports_anything
    assert not diagnostic_setting_from_json({"properties": "junk"}).exports_anything


def test_defender_for_ai_finding_only_off_the_standard_tier() -> None:
    assert defender_finding(DefenderPlan(SUB, "AI", "Standard"), now=NOW, accounts=3) is None
    finding = defender_finding(DefenderPlan(SUB, "AI", "Free"), now=NOW, accounts=3)
    assert finding is not None and finding.resource is None
    assert finding.evidence["subscription_id"] == SUB and finding.evidence["ai_accounts"] == 3
