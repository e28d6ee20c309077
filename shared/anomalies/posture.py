"""Posture rules on plain data (no I/O): what makes an AI account or subscription a finding.

* ``posture:public_network_open`` — ``publicNetworkAccess`` is not ``Disabled`` (unset means
  enabled) and the network rule set does not default to ``Deny``: anyone on the internet with a
  key or token can reach the endpoint.
* ``posture:local_auth_enabled`` — ``disableLocalAuth`` is false or never set: API keys work
  (Microsoft recommends Entra ID instead).
* ``posture:no_diagnostic_settings`` — no diagnostic setting exports the account's logs or
  metrics anywhere, so none of Warden's usage detectors can see it.
* ``posture:defender_for_ai_disabled`` — the subscription's Defender for AI plan is on the Free
  tier (only where the Pricings API shows the plan). The finding names no resource (a
  subscription is not one of Warden's resource kinds); evidence holds the subscription id.

Dedupe keys are ``<kind>|<resource>``: they stay the same while the fact is unchanged, so an
unchanged account is reported once per intake memory (30 days), not on every sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.finding import Finding, FindingSource, Severity
from shared.ports.inventory import AiAccount
from shared.ports.posture import DefenderPlan, DiagnosticSetting

__all__ = ["account_posture_findings", "defender_finding", "diagnostics_finding"]


def _finding(  # noqa: PLR0917 - private constructor helper
    kind: str, severity: Severity, title: str, account: AiAccount, evidence: dict[str, object], now: datetime
) -> Finding:
    return Finding(
        source=FindingSource.POSTURE,
        kind=kind,
        severity=severity,
        title=title[:500],
        resource=account.id,
        evidence={"account_kind": account.kind, "location": account.location, **evidence},
        dedupe_key=f"{kind}|{str(account.id).lower()}"[:512],
        first_seen=now,
        last_seen=now,
    )


def account_posture_findings(account: AiAccount, *, now: datetime) -> list[Finding]:
    """The network and local-auth findings of one account (from its inventory row)."""
    findings: list[Finding] = []
    access = account.public_network_access or "Enabled"
    default_action = account.network_default_action or "Allow"
    if access.lower() != "disabled" and default_action.lower() != "deny":
        findings.append(
            _finding(
                "posture:public_network_open",
                Severity.MEDIUM,
                f"{account.id.name} accepts calls from any network (public access {access}, default action "
                f"{default_action})",
                account,
                {
                    "public_network_access": account.public_network_access,
                    "network_default_action": account.network_default_action,
                    "ip_rule_count": account.ip_rule_count,
                },
                now,
            )
        )
    if not account.disable_local_auth:
        findings.append(
            _finding(
                "posture:local_auth_enabled",
                Severity.LOW,
                f"{account.id.name} accepts API keys (local auth is enabled); prefer Microsoft Entra ID",
                account,
                {"disable_local_auth": False},
                now,
            )
        )
    return findings


def diagnostics_finding(account: AiAccount, settings: Sequence[DiagnosticSetting], *, now: datetime) -> Finding | None:
    """``posture:no_diagnostic_settings`` when no setting exports anything, else ``None``."""
    if any(s.exports_anything for s in settings):
        return None
    return _finding(
        "posture:no_diagnostic_settings",
        Severity.MEDIUM,
        f"{account.id.name} has no diagnostic setting exporting logs or metrics; Warden cannot detect "
        "usage anomalies on it",
        account,
        {"diagnostic_settings": [s.name for s in settings][:20]},
        now,
    )


def defender_finding(plan: DefenderPlan, *, now: datetime, accounts: int) -> Finding | None:
    """``posture:defender_for_ai_disabled`` for a plan that is not on the Standard tier."""
    if plan.enabled:
        return None
    return Finding(
        source=FindingSource.POSTURE,
        kind="posture:defender_for_ai_disabled",
        severity=Severity.MEDIUM,
        title=f"Defender for AI services is not enabled on subscription {plan.subscription_id} "
        f"({accounts} AI account(s); tier {plan.pricing_tier})",
        resource=None,
        evidence={
            "subscription_id": plan.subscription_id,
            "plan": plan.name,
            "pricing_tier": plan.pricing_tier,
            "ai_accounts": accounts,
        },
        dedupe_key=f"posture:defender_for_ai_disabled|{plan.subscription_id}",
        first_seen=now,
        last_seen=now,
    )
