"""Model allowlist: a deployment of a model not on ``policy.models.allowlist`` is a finding.

The same finding (same dedupe key) comes from the Event Grid ``ResourceWriteSuccess`` path and
from the scheduled sweep, so a deployment is reported once per model version, whichever saw it
first. Pure.
"""

from __future__ import annotations

from datetime import datetime

from shared.finding import Finding, FindingSource, Severity
from shared.policy import Policy, is_model_allowed
from shared.ports.cognitive import DeploymentInfo

__all__ = ["UNAPPROVED_KIND", "unapproved_deployment_finding"]

UNAPPROVED_KIND = "model:unapproved_deployment"


def unapproved_deployment_finding(
    policy: Policy, deployment: DeploymentInfo, *, now: datetime, seen_by: str
) -> Finding | None:
    """The finding for ``deployment`` when its model is not allowed, else ``None``.

    A deployment with no model name cannot be judged (ARM returned no model): ``None``.
    """
    name = (deployment.model_name or "").strip()
    if not name:
        return None
    version = (deployment.model_version or "").strip()
    model_format = (deployment.model_format or "OpenAI").strip()
    if is_model_allowed(policy, name, version, model_format):
        return None
    allowed = [f"{m.format}/{m.name}@{','.join(m.versions)}" for m in policy.models.allowlist][:20]
    return Finding(
        source=FindingSource.RESOURCE_EVENT,  # one identity whichever path saw it (evidence.seen_by)
        kind=UNAPPROVED_KIND,
        severity=Severity.HIGH,
        title=f"Deployment {deployment.id.name} on {deployment.id.account.name} serves {model_format} model "
        f"{name} {version or '(no version)'}, which is not on the allowlist"[:500],
        resource=deployment.id,
        evidence={
            "model": {"name": name, "version": version or None, "format": model_format},
            "sku": deployment.sku_name,
            "provisioning_state": deployment.provisioning_state,
            "allowlist": allowed,
            "seen_by": seen_by,
        },
        dedupe_key=f"{UNAPPROVED_KIND}|{str(deployment.id).lower()}|{model_format.lower()}/{name.lower()}@{version}"[
            :512
        ],
        first_seen=now,
        last_seen=now,
    )
