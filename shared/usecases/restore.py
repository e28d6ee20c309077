"""Restore: re-apply an incident's snapshots (undo its containment), once per step, audited.

- switch_rai_policy: the deployment goes back to its previous RAI policy;
- delete_deployment: the deployment is re-created with the same model (name, version,
  format), SKU (name, capacity), RAI policy, version-upgrade option and tags;
- disable_local_auth: local auth is enabled again;
- deny_public_network: the network ACL default (and IP rules) go back to what they were;
- tag_resource: the tags Warden added are removed (or set back to their previous values).

Key rotations are not restorable (a regenerated key cannot come back) and are listed as such.
Already restored state is ``NO_OP``. Permissions: as for the actions (``accounts/read``,
``accounts/write``, ``accounts/deployments/read`` and ``/write``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from shared.audit.chain import AuditEvent
from shared.contracts.incident import (
    RESTORE_ORCHESTRATOR,
    RestoreInput,
    RestoreItem,
    RestorePlan,
    RestorePlanRequest,
    RestoreStepRequest,
    restore_instance_id,
)
from shared.policy import owners_for
from shared.ports.cognitive import AccountPatch, CognitiveError, CognitiveNotFoundError, CognitiveTransientError
from shared.ports.durable import Orchestrations
from shared.ports.stores import Snapshot
from shared.resource_ids import AccountId, DeploymentId, parse_resource_id
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepResult, StepStatus
from shared.usecases.audit_trail import audit_once
from shared.usecases.claimed_step import run_step
from shared.usecases.containment import INCIDENT_TAG, deployment_from_dict, deployment_to_dict
from shared.usecases.response_ports import ResponsePorts
from shared.usecases.triage import approval_settings

_log = logging.getLogger("warden.restore")

__all__ = ["RestoreRequested", "plan_restore", "request_restore", "restore_step"]


def _step_of(snapshot: Snapshot) -> ResponseStep:
    action = ActionKind(snapshot.action)
    return ResponseStep(
        id=snapshot.step_id,
        action=action,
        target=parse_resource_id(snapshot.target),
        approval=ApprovalRequirement.ONE_APPROVER,
        reason=f"restore the state before {snapshot.step_id} ({action.value}) of the incident",
    )


def plan_restore(ports: ResponsePorts, request: RestorePlanRequest) -> RestorePlan:
    """What a restore of the incident would re-apply (every reversible snapshot); audits the
    request once per restore run (``restore.requested``). Needs Table Storage."""
    incident_id = request.incident_id
    policy = ports.policy
    items = tuple(
        RestoreItem(step=_step_of(s), taken_at=s.taken_at)
        for s in ports.snapshots.list(incident_id)
        if ActionKind(s.action).reversible
    )
    owners: tuple[str, ...] = ()
    if items:
        target = items[0].step.target
        owners = tuple(owners_for(policy, {}, target.subscription_id))
    explanation = (
        f"restore {len(items)} change(s) of incident {incident_id}: "
        + ", ".join(f"{i.step.id} on {i.step.target}" for i in items)
        if items
        else f"incident {incident_id} has no restorable snapshot"
    )
    plan = RestorePlan(
        incident_id=incident_id,
        items=items,
        approvals=approval_settings(policy),
        owners=owners,
        explanation=explanation[:2000],
    )
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor=(request.requested_by or "unknown")[:300],
            action="restore.requested",
            incident_id=incident_id,
            reason=(request.reason or plan.explanation)[:2000],
            details={"steps": [i.step.id for i in plan.items]},
        ),
        f"restore.requested:{request.run}",
    )
    return plan


def _result(step: ResponseStep, status: StepStatus, detail: str, **kw: object) -> StepResult:
    return StepResult(
        step_id=step.id,
        action=step.action,
        target=step.target,
        status=status,
        detail=detail[:2000],
        **kw,
    )


def _apply(ports: ResponsePorts, snapshot: Snapshot, step: ResponseStep) -> StepResult:
    before = snapshot.before
    target = step.target
    cognitive = ports.cognitive
    if step.action is ActionKind.SWITCH_RAI_POLICY and isinstance(target, DeploymentId):
        wanted = before.get("rai_policy_name")
        current = cognitive.get_deployment(target)
        if (current.rai_policy_name or "") == (wanted or ""):
            return _result(step, StepStatus.NO_OP, f"already on RAI policy {wanted}", after=deployment_to_dict(current))
        after = cognitive.create_or_update_deployment(replace(current, rai_policy_name=wanted))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"RAI policy {current.rai_policy_name} -> {after.rai_policy_name}",
            before=deployment_to_dict(current),
            after=deployment_to_dict(after),
        )
    if step.action is ActionKind.DELETE_DEPLOYMENT and isinstance(target, DeploymentId):
        spec = deployment_from_dict(before)
        try:
            existing = cognitive.get_deployment(target)
            return _result(step, StepStatus.NO_OP, "the deployment exists again", after=deployment_to_dict(existing))
        except CognitiveNotFoundError:
            pass
        created = cognitive.create_or_update_deployment(spec)
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"re-created {created.id.name}: {created.model_name} {created.model_version}, "
            f"{created.sku_name} x{created.sku_capacity}, RAI policy {created.rai_policy_name}",
            before={},
            after=deployment_to_dict(created),
        )
    if not isinstance(target, AccountId | DeploymentId):
        return _result(step, StepStatus.SKIPPED, f"cannot restore {step.action.value} on {target}")
    account = cognitive.get_account(target.account)
    if step.action is ActionKind.DISABLE_LOCAL_AUTH:
        wanted_auth = bool(before.get("disable_local_auth", False))
        if account.disable_local_auth == wanted_auth:
            return _result(step, StepStatus.NO_OP, "local auth is already as before")
        cognitive.update_account(target.account, AccountPatch(disable_local_auth=wanted_auth))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            "local (key) auth enabled again" if not wanted_auth else "local auth disabled again",
            before={"disable_local_auth": account.disable_local_auth},
            after={"disable_local_auth": wanted_auth},
        )
    if step.action is ActionKind.DENY_PUBLIC_NETWORK:
        wanted_action = str(before.get("network_default_action") or "Allow")
        rules = tuple(str(r) for r in before.get("ip_rules") or ())
        if (account.network_default_action or "Allow") == wanted_action and account.ip_rules == rules:
            return _result(step, StepStatus.NO_OP, "the network ACL is already as before")
        cognitive.update_account(target.account, AccountPatch(network_default_action=wanted_action, ip_rules=rules))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"network ACL default {account.network_default_action} -> {wanted_action}",
            before={"network_default_action": account.network_default_action},
            after={"network_default_action": wanted_action, "ip_rules": list(rules)},
        )
    if step.action is ActionKind.TAG_RESOURCE:
        old = {str(k): str(v) for k, v in (before.get("tags") or {}).items()}
        added = [str(k) for k in before.get("added") or [INCIDENT_TAG]]
        tags = {str(k): str(v) for k, v in account.tags.items()}
        for name in added:
            if name in old:
                tags[name] = old[name]
            else:
                tags.pop(name, None)
        if tags == dict(account.tags):
            return _result(step, StepStatus.NO_OP, "the tags are already as before")
        cognitive.update_account(target.account, AccountPatch(tags=tags))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            "removed or reset tags " + ", ".join(added),
            before={"tags": dict(account.tags)},
            after={"tags": tags},
        )
    return _result(step, StepStatus.SKIPPED, f"{step.action.value} cannot be restored")


def _attempt(ports: ResponsePorts, incident_id: str, step: ResponseStep) -> StepResult:
    snapshot = ports.snapshots.get(incident_id, step.id)
    try:
        if snapshot is None:
            return _result(step, StepStatus.SKIPPED, "no snapshot for this step")
        return _apply(ports, snapshot, step)
    except CognitiveTransientError:
        raise  # the claim is released; the orchestrator's retry restores the step again
    except CognitiveError as exc:
        return _result(step, StepStatus.FAILED, "the Azure call failed", error=str(exc)[:2000])


def restore_step(ports: ResponsePorts, request: RestoreStepRequest) -> StepResult:
    """Re-apply the snapshot of ``request.step``, once (claim ``restore:{incident}:{step}``,
    ``shared.usecases.claimed_step``), and audit it. A permanent Azure failure gives ``FAILED``
    (and releases the claim so a re-run can retry); a transient one (``CognitiveTransientError``)
    and a step another run holds (``StepInProgressError``: its claim lasts ``STEP_LEASE_SECONDS``,
    so a host that died with it frees it quickly) are raised for the orchestrator's retry policy.
    Every restore re-reads the state first, so a repeated attempt is a ``NO_OP``."""
    incident_id, step = request.incident_id, request.step
    claimed = run_step(
        ports.idempotency,
        f"restore:{incident_id}:{step.id}",
        lambda: _attempt(ports, incident_id, step),
        clock=ports.clock,
        busy=f"restore step {step.id} of {incident_id} is running elsewhere",
    )
    result = claimed.result
    if not claimed.fresh:
        return result
    action = f"restore.{result.status.value}"
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor="warden",
            action=action,
            incident_id=incident_id,
            target=str(step.target),
            reason=(result.error or result.detail or result.status.value)[:2000],
            before=result.before,
            after=result.after,
            details={"step_id": step.id, "action": step.action.value, "approved_by": list(request.approved_by)},
        ),
        f"{action}:{step.id}",
    )
    return result


# --------------------------------------------------------------------------------------------
# POST /api/incidents/{id}/restore
# --------------------------------------------------------------------------------------------
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,100}$")


@dataclass(frozen=True, slots=True)
class RestoreRequested:
    """What a restore request came to: an error to answer (``status``, ``error``), or the restore
    orchestration's ``instance_id`` (started now, or already running)."""

    status: int
    error: str = ""
    instance_id: str = ""


async def request_restore(
    orchestrations: Orchestrations, incident_id: str, body: Any, *, principal_name: str | None
) -> RestoreRequested:
    """Start ``restore_incident`` for the incident unless a restore is already running.

    ``body`` is the request's decoded JSON (``{"requested_by", "reason"}``, optional; ``None``
    when it was not JSON). 400 for a malformed id or body, 404 when no such incident exists.
    """
    if not _INCIDENT_ID.match(incident_id):
        return RestoreRequested(400, f"{incident_id!r} is not an incident id (inc-… from the incident list)")
    if body is None:
        return RestoreRequested(400, 'the body must be JSON: {"requested_by": ..., "reason": ...}')
    fields = body if isinstance(body, dict) else {}
    if await orchestrations.status(incident_id) is None:
        return RestoreRequested(404, f"no incident {incident_id}")
    instance = restore_instance_id(incident_id)
    current = await orchestrations.status(instance)
    if current is None or current.runtime_status not in {"Running", "Pending"}:
        payload = RestoreInput(
            incident_id=incident_id,
            requested_by=str(principal_name or fields.get("requested_by") or "api")[:300],
            reason=str(fields.get("reason") or "")[:1000],
        )
        await orchestrations.start(RESTORE_ORCHESTRATOR, instance, payload.model_dump(mode="json"))
        _log.info("restore of %s requested by %s", incident_id, payload.requested_by)
    return RestoreRequested(202, instance_id=instance)
