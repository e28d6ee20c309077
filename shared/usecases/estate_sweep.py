"""The scheduled sweep: model allowlist and posture over the whole estate, within a call budget.

Calls per sweep (N accounts of kind OpenAI/AIServices in scope, S subscriptions holding them,
Q accounts that sent nothing to Warden's workspace during ``reporting_lookback``):

* ceil(N / 1000) Resource Graph pages (inventory, ``ai_accounts``);
* N ``deployments.list`` ARM reads (allowlist; skipped when the allowlist is empty) — ARM has no
  estate-wide deployment listing Warden can rely on (whether Resource Graph indexes
  ``accounts/deployments`` is NOT CONFIRMED);
* 1 Log Analytics query (``posture_reporting_accounts``) + Q ``diagnosticSettings`` ARM reads: an
  account whose logs or metrics reach the workspace evidently has a diagnostic setting, so ARM
  is asked only about the silent ones (no estate-wide listing of diagnostic settings exists);
* S ``Microsoft.Security/pricings/AI`` ARM reads.

A failing call is a problem in the report, never the end of the sweep.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from shared.anomalies.allowlist import unapproved_deployment_finding
from shared.anomalies.posture import account_posture_findings, defender_finding, diagnostics_finding
from shared.finding import Finding, FindingSource
from shared.policy.matching import first_matching_rule
from shared.policy.schema import Policy
from shared.ports.cognitive import CognitiveError, CognitivePort
from shared.ports.inventory import AiAccount, InventoryError, InventoryPort
from shared.ports.logs import LogQueryError, LogsPort
from shared.ports.posture import PostureError, PosturePort
from shared.resource_ids import AccountId, InvalidResourceIdError

__all__ = ["AI_KINDS", "PostureIngestMode", "SweepReport", "run_sweep", "select_for_ingest"]

_log = logging.getLogger("warden.anomalies.sweep")

AI_KINDS = ("OpenAI", "AIServices")
PostureIngestMode = Literal["matched", "all", "none"]


@dataclass
class SweepReport:
    """Findings of one sweep, the accounts' tags (for rule matching), calls made and problems."""

    findings: list[Finding] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    accounts: int = 0

    def kinds(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))


def run_sweep(
    *,
    inventory: InventoryPort,
    cognitive: CognitivePort,
    posture: PosturePort,
    logs: LogsPort | None,
    policy: Policy,
    subscriptions: Sequence[str],
    now: datetime,
    reporting_lookback: timedelta = timedelta(days=1),
) -> SweepReport:
    """Sweep the estate (see the module docstring for the calls it makes)."""
    report = SweepReport()
    try:
        accounts: list[AiAccount] = list(inventory.list_ai_accounts(subscriptions, AI_KINDS))
    except InventoryError as exc:
        report.problems.append(f"inventory: {exc}")
        return report
    report.calls["inventory"] += 1
    report.accounts = len(accounts)
    for account in accounts:
        report.tags[str(account.id).lower()] = dict(account.tags)
        report.findings.extend(account_posture_findings(account, now=now))

    if policy.models.allowlist:
        for account in accounts:
            report.calls["deployments.list"] += 1
            try:
                deployments = cognitive.list_deployments(account.id)
            except CognitiveError as exc:
                report.problems.append(f"deployments of {account.id}: {exc}")
                continue
            for deployment in deployments:
                finding = unapproved_deployment_finding(policy, deployment, now=now, seen_by="sweep")
                if finding is not None:
                    report.findings.append(finding)

    reporting: set[str] = set()
    if logs is not None:
        report.calls["logs.query"] += 1
        try:
            rows = logs.run(
                "posture_reporting_accounts", timespan=(now - reporting_lookback, now), since=now - reporting_lookback
            )
        except LogQueryError as exc:
            report.problems.append(f"posture_reporting_accounts: {exc}; asking ARM about every account")
            rows = []
        for row in rows:
            try:
                reporting.add(str(AccountId.parse(str(row.get("ResourceId") or ""))).lower())
            except InvalidResourceIdError:
                continue
    for account in accounts:
        if str(account.id).lower() in reporting:
            continue
        report.calls["diagnosticSettings.list"] += 1
        try:
            settings = posture.diagnostic_settings(account.id)
        except PostureError as exc:
            report.problems.append(str(exc))
            continue
        finding = diagnostics_finding(account, settings, now=now)
        if finding is not None:
            report.findings.append(finding)

    per_subscription = Counter(account.id.subscription_id.lower() for account in accounts)
    for subscription, count in sorted(per_subscription.items()):
        report.calls["pricings.get"] += 1
        try:
            plan = posture.defender_plan(subscription)
        except PostureError as exc:
            report.problems.append(str(exc))
            continue
        if plan is None:
            continue
        finding = defender_finding(plan, now=now, accounts=count)
        if finding is not None:
            report.findings.append(finding)
    return report


def select_for_ingest(
    policy: Policy,
    findings: Sequence[Finding],
    tags: dict[str, dict[str, str]],
    mode: PostureIngestMode = "matched",
) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (ingest, held back) by ``WARDEN_POSTURE_INGEST``.

    Posture findings multiply with the estate, so by default (``matched``) one is ingested only
    when a policy rule with at least one condition matches it — the catch-all default playbook
    alone does not open an incident per misconfigured account. ``all`` ingests every posture
    finding, ``none`` none. Every other finding (anomalies, unapproved models) is ingested.
    """
    ingest: list[Finding] = []
    held: list[Finding] = []
    for finding in findings:
        if finding.source is not FindingSource.POSTURE or mode == "all":
            ingest.append(finding)
            continue
        if mode == "none":
            held.append(finding)
            continue
        account = finding.account
        resource_tags = tags.get(str(account).lower(), {}) if account is not None else {}
        matched = first_matching_rule(policy, finding, resource_tags)
        if matched is not None and not matched.rule.match.is_catch_all:
            ingest.append(finding)
        else:
            held.append(finding)
    return ingest, held
