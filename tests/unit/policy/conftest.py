"""Shared helpers for policy tests: a minimal valid policy and finding builders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.finding import Finding, FindingSource, Severity
from shared.policy import Policy, load_policy, parse_policy

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED_POLICY = REPO_ROOT / "policy.yaml"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000001"
OTHER_SUB = "00000000-0000-0000-0000-000000000002"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-oai"
DEPLOYMENT = f"{ACCOUNT}/deployments/gpt-4o"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.KeyVault/vaults/contoso-kv"

MINIMAL = """\
version: 1
owners:
  fallback:
    default: [secops@contoso.com]
playbooks:
  notify:
    steps:
      - action: notify_owners
default_playbook: notify
"""


def policy_from(text: str) -> Policy:
    """Parse ``text`` as a policy (named policy.yaml in errors)."""
    return parse_policy(text)


def finding(
    kind: str,
    *,
    source: FindingSource | None = None,
    severity: Severity = Severity.MEDIUM,
    resource: str | None = DEPLOYMENT,
    category: str | None = None,
) -> Finding:
    """A finding of ``kind``; the source defaults from the kind's namespace."""
    namespace = kind.split(":", 1)[0]
    default_source = {
        "defender": FindingSource.DEFENDER_ALERT,
        "key": FindingSource.KEY_HYGIENE,
        "anomaly": FindingSource.ANOMALY,
        "model": FindingSource.RESOURCE_EVENT,
        "posture": FindingSource.POSTURE,
    }[namespace]
    evidence: dict[str, Any] = {"category": category} if category else {}
    return Finding(
        source=source or default_source,
        kind=kind,
        severity=severity,
        title=f"test finding {kind}",
        resource=resource,
        evidence=evidence,
        dedupe_key=f"test:{kind}:{resource}",
        first_seen=NOW,
        last_seen=NOW,
    )


@pytest.fixture(scope="session")
def shipped() -> Policy:
    """The policy.yaml shipped at the repository root."""
    return load_policy(SHIPPED_POLICY)
