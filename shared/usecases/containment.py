"""Containment actions: one idempotent function per step, each snapshotting before it changes.

``execute_step`` is what the ``incident_execute_step`` activity calls; ``verify_changes`` is
``incident_verify``; ``record_result`` is ``incident_record_result``. For every step it:

1. claims the step ``response:{incident}:{step}`` (``shared.usecases.claimed_step``): a
   completed step returns its recorded result, a step running elsewhere raises
   ``StepInProgressError`` (the orchestrator's retry tries again later);
2. honours the guards at execution time: global dry run (``DRY_RUN``, nothing changed),
   protected resources (re-read tags: ``SKIPPED``), the last deployment of an approved model
   (``SKIPPED`` unless ``guards.allow_delete_last_deployment``; a deployment removed because its
   model is not on the allowlist is deleted only while it still serves that model, and the guard
   does not hold it back);
3. reads the current state; if it is already the desired one the result is ``NO_OP``;
4. writes the snapshot (the state before) **before** changing anything — no snapshot, no
   change — then changes, and reports ``before`` / ``after``;
5. audits the outcome once (``step.succeeded`` / ``step.no_op`` / ``step.failed`` ...), and
   records a disruptive change for the circuit breaker.

A failed Azure call yields ``FAILED`` with the error (naming resource and permission); the
idempotency record is released so a re-run can complete the step. A transient one (throttled or
a server error that outlasted the SDK's retries, or a long-running operation that ended
``Failed`` with a transient error code) is raised instead, so the orchestrator's retry policy
runs the step again; every action re-reads the state first, so a re-run after a partial
attempt is a ``NO_OP`` — except on a deployment left ``Failed`` by the earlier write, which is
written again.

The claim's lease (``shared.contracts.incident.STEP_LEASE_SECONDS``) is short on purpose: an
attempt killed with its host leaves the claim behind, and the re-delivered or retried activity
must be able to take it over within the orchestrator's retry window (``STEP_RETRY``: 19 attempts
5 s apart), or the step would be lost as "running elsewhere". Durable runs one attempt of an activity at a
time, so the lease only guards against a duplicate delivery while an attempt is alive; every
action is idempotent by desired state, so even that costs at most one identical write. The
claim's owner token goes with ``complete`` and ``release``: an attempt that outlived its lease
never frees or overwrites the claim of the attempt that took over (it fails with
``LeaseLostError`` and its retry finds the other's result).

Permissions (ARM actions of Warden's identity; built-in alternative: Cognitive Services
Contributor): ``accounts/read`` always; ``accounts/deployments/read`` and ``/write`` and
``accounts/raiPolicies/read`` and ``/write`` for switch_rai_policy; ``accounts/deployments/delete``
for delete_deployment; ``accounts/write`` for disable_local_auth, deny_public_network and
tag_resource.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from shared.audit.chain import AuditEvent
from shared.contracts.incident import (
    ExecuteRequest,
    RecordResultRequest,
    VerifyOutcome,
    VerifyRequest,
)
from shared.policy import is_protected
from shared.ports.cognitive import (
    AccountInfo,
    AccountPatch,
    CognitiveError,
    CognitiveNotFoundError,
    CognitiveTransientError,
    DeploymentInfo,
)
from shared.ports.stores import Snapshot, StorageError
from shared.resource_ids import AccountId, DeploymentId
from shared.response.steps import ActionKind, ResponseStep, StepResult, StepStatus
from shared.usecases.audit_trail import audit_once
from shared.usecases.claimed_step import StepInProgressError, run_step
from shared.usecases.rai_policies import KNOWN_RAI_POLICIES, rai_policy_definition
from shared.usecases.response_ports import ResponsePorts

__all__ = [
    "INCIDENT_TAG",
    "StepInProgressError",
    "deployment_from_dict",
    "deployment_to_dict",
    "execute_step",
    "read_with_retry",
    "record_result",
    "verify_changes",
    "verify_step",
]

_log = logging.getLogger("warden.response")

T = TypeVar("T")

INCIDENT_TAG = "warden-incident"
"""Tag set by tag_resource steps: the incident that changed the resource."""


_SETTLED = frozenset({"", "succeeded", "failed", "canceled"})


def _require_settled(what: str, state: str | None) -> None:
    """Refuse to act on a resource another write is still changing: what was read is not what
    it will be (an attempt killed mid-operation leaves exactly that behind). Transient: the
    orchestrator's retry reads it again once the operation has finished."""
    if (state or "").lower() not in _SETTLED:
        raise CognitiveTransientError(f"{what} is {state}: an operation is in progress on it; trying again later")


def _unapproved_model(step: ResponseStep) -> dict[str, Any] | None:
    """The unapproved model a delete step removes (set by the plan for unapproved-model findings):
    the step deletes the deployment only while it serves that model, and the last-deployment guard,
    which keeps approved models serving, does not apply to it."""
    model = step.parameters.get("unapproved_model")
    return model if isinstance(model, dict) and model.get("name") else None


def _serves(dep: DeploymentInfo, model: dict[str, Any]) -> bool:
    """Whether ``dep`` serves ``model`` (name and format case-insensitive; a model without a
    version matches any version)."""
    version = model.get("version")
    return (
        (dep.model_name or "").lower() == str(model["name"]).lower()
        and (dep.model_format or "OpenAI").lower() == str(model.get("format") or "OpenAI").lower()
        and (not version or (dep.model_version or "") == str(version))
    )


def _model_label(model: DeploymentInfo | dict[str, Any]) -> str:
    if isinstance(model, DeploymentInfo):
        return f"{model.model_format or 'OpenAI'}/{model.model_name}@{model.model_version or '-'}"
    return f"{model.get('format') or 'OpenAI'}/{model['name']}@{model.get('version') or '-'}"


def deployment_to_dict(info: DeploymentInfo) -> dict[str, Any]:
    """A deployment's full spec as snapshot JSON."""
    return {
        "deployment": str(info.id),
        "model_name": info.model_name,
        "model_version": info.model_version,
        "model_format": info.model_format,
        "sku_name": info.sku_name,
        "sku_capacity": info.sku_capacity,
        "rai_policy_name": info.rai_policy_name,
        "version_upgrade_option": info.version_upgrade_option,
        "tags": dict(info.tags),
    }


def deployment_from_dict(data: dict[str, Any]) -> DeploymentInfo:
    """The inverse of ``deployment_to_dict`` (what a restore re-creates)."""
    return DeploymentInfo(
        id=DeploymentId.parse(str(data["deployment"])),
        model_name=str(data["model_name"]),
        model_version=data.get("model_version"),
        model_format=str(data.get("model_format") or "OpenAI"),
        sku_name=str(data.get("sku_name") or "Standard"),
        sku_capacity=data.get("sku_capacity"),
        rai_policy_name=data.get("rai_policy_name"),
        version_upgrade_option=data.get("version_upgrade_option"),
        tags=dict(data.get("tags") or {}),
    )


def _account_view(info: AccountInfo) -> dict[str, Any]:
    return {
        "disable_local_auth": info.disable_local_auth,
        "public_network_access": info.public_network_access,
        "network_default_action": info.network_default_action,
        "ip_rules": list(info.ip_rules),
        "tags": dict(info.tags),
    }


def _result(step: ResponseStep, status: StepStatus, detail: str = "", **kw: Any) -> StepResult:
    return StepResult(
        step_id=step.id, action=step.action, target=step.target, status=status, detail=detail[:2000], **kw
    )


class _Executor:
    """Runs one step against the ports (the state between reading and writing)."""

    def __init__(self, ports: ResponsePorts, request: ExecuteRequest) -> None:
        self.ports = ports
        self.request = request
        self.step = request.step

    # -- helpers ------------------------------------------------------------------------------
    def snapshot(self, before: dict[str, Any]) -> dict[str, Any]:
        """Store the state before the change (first snapshot wins); returns the stored state."""
        stored = self.ports.snapshots.put(
            Snapshot(
                incident_id=self.request.incident_id,
                step_id=self.step.id,
                action=self.step.action.value,
                target=str(self.step.target),
                taken_at=self.ports.clock(),
                before=before,
            )
        )
        return stored.before

    @property
    def account_id(self) -> AccountId:
        return self.step.target.account  # type: ignore[union-attr]

    @property
    def deployment_id(self) -> DeploymentId:
        target = self.step.target
        if not isinstance(target, DeploymentId):
            raise CognitiveError(f"{self.step.action.value} needs a deployment, not {target}")
        return target

    # -- the actions --------------------------------------------------------------------------
    def run(self) -> StepResult:
        step = self.step
        if step.action in (ActionKind.ROTATE_KEY_EMERGENCY, ActionKind.ROTATE_KEY_SCHEDULED, ActionKind.NOTIFY_OWNERS):
            if self.dry_run:
                return _result(step, StepStatus.DRY_RUN, f"dry run: would run {step.action.value}; nothing changed")
            return _result(
                step,
                StepStatus.SKIPPED,
                f"{step.action.value} is not run by this activity (rotations are sub-orchestrations, "
                "notifications go through incident_notify)",
            )
        if not isinstance(step.target, AccountId | DeploymentId):
            return _result(step, StepStatus.SKIPPED, f"{step.action.value} acts on AI accounts, not {step.target}")
        account = self.ports.cognitive.get_account(self.account_id)
        _require_settled(f"account {self.account_id}", account.provisioning_state)
        protected = is_protected(self.ports.policy, step.target, account.tags)
        if protected:
            return _result(
                step, StepStatus.SKIPPED, f"protected resource ({protected}); Warden never changes it", before=None
            )
        handler = {
            ActionKind.SWITCH_RAI_POLICY: self.switch_rai_policy,
            ActionKind.DELETE_DEPLOYMENT: self.delete_deployment,
            ActionKind.DISABLE_LOCAL_AUTH: self.disable_local_auth,
            ActionKind.DENY_PUBLIC_NETWORK: self.deny_public_network,
            ActionKind.TAG_RESOURCE: self.tag_resource,
        }[step.action]
        return handler(account)

    @property
    def dry_run(self) -> bool:
        return self.request.dry_run or self.ports.dry_run

    def switch_rai_policy(self, account: AccountInfo) -> StepResult:
        step = self.step
        wanted = str(step.parameters.get("rai_policy") or "")
        current = self.ports.cognitive.get_deployment(self.deployment_id)
        _require_settled(f"deployment {self.deployment_id}", current.provisioning_state)
        before = deployment_to_dict(current)
        # A deployment whose last write ended Failed (e.g. an earlier attempt's PUT) may already
        # carry the policy name without running with it: write it again, never a no-op.
        failed = (current.provisioning_state or "").lower() == "failed"
        if (current.rai_policy_name or "").lower() == wanted.lower() and not failed:
            return _result(step, StepStatus.NO_OP, f"already on RAI policy {wanted}", before=before, after=before)
        if self.dry_run:
            return _result(
                step,
                StepStatus.DRY_RUN,
                f"dry run: would switch RAI policy {current.rai_policy_name} -> {wanted}",
                before=before,
            )
        created = ""
        try:
            self.ports.cognitive.get_rai_policy(self.account_id, wanted)
        except CognitiveNotFoundError:
            definition = rai_policy_definition(self.account_id, wanted)
            if definition is None:
                known = ", ".join(sorted(KNOWN_RAI_POLICIES))
                return _result(
                    step,
                    StepStatus.FAILED,
                    "nothing changed",
                    before=before,
                    error=f"RAI policy {wanted!r} does not exist on {self.account_id} and Warden has no "
                    f"definition for it (it can create: {known}); create it on the account or change the playbook",
                )
            self.ports.cognitive.create_or_update_rai_policy(definition)
            created = f"; created RAI policy {wanted} from Warden's definition"
        before = self.snapshot(before)  # an earlier attempt's snapshot is the state before
        after = self.ports.cognitive.create_or_update_deployment(replace(current, rai_policy_name=wanted))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"RAI policy {before.get('rai_policy_name')} -> {after.rai_policy_name}{created}",
            before=before,
            after=deployment_to_dict(after),
        )

    def delete_deployment(self, account: AccountInfo) -> StepResult:
        step = self.step
        try:
            current = self.ports.cognitive.get_deployment(self.deployment_id)
        except CognitiveNotFoundError:
            return _result(step, StepStatus.NO_OP, "the deployment does not exist (already deleted)", after={})
        _require_settled(f"deployment {self.deployment_id}", current.provisioning_state)
        before = deployment_to_dict(current)
        unapproved = _unapproved_model(step)
        if unapproved is not None and not _serves(current, unapproved):
            return _result(
                step,
                StepStatus.NO_OP,
                f"the deployment now serves {_model_label(current)}, not the unapproved {_model_label(unapproved)} "
                "the finding named; nothing removed",
                before=before,
                after=before,
            )
        if unapproved is None and not step.parameters.get("allow_delete_last_deployment", False):
            others = [
                d
                for d in self.ports.cognitive.list_deployments(self.account_id)
                if d.model_name.lower() == current.model_name.lower() and d.id.name.lower() != current.id.name.lower()
            ]
            if not others:
                return _result(
                    step,
                    StepStatus.SKIPPED,
                    f"it is the last deployment of model {current.model_name} on {self.account_id} and "
                    "guards.allow_delete_last_deployment is false",
                    before=before,
                )
        if self.dry_run:
            return _result(step, StepStatus.DRY_RUN, f"dry run: would delete {self.deployment_id}", before=before)
        if step.parameters.get("snapshot", True):
            self.snapshot(before)
        self.ports.cognitive.delete_deployment(self.deployment_id)
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"deleted deployment {current.id.name} ({current.model_name} {current.model_version})",
            before=before,
            after={},
        )

    def disable_local_auth(self, account: AccountInfo) -> StepResult:
        step = self.step
        before = {"disable_local_auth": account.disable_local_auth}
        if account.disable_local_auth:
            return _result(step, StepStatus.NO_OP, "local (key) auth is already disabled", before=before, after=before)
        if self.dry_run:
            return _result(step, StepStatus.DRY_RUN, "dry run: would disable local (key) auth", before=before)
        self.snapshot(before)
        after = self.ports.cognitive.update_account(self.account_id, AccountPatch(disable_local_auth=True))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            "local (key) auth disabled",
            before=before,
            after={"disable_local_auth": after.disable_local_auth},
        )

    def deny_public_network(self, account: AccountInfo) -> StepResult:
        step = self.step
        wanted = str(step.parameters.get("default_action") or "Deny")
        before = {
            "network_default_action": account.network_default_action,
            "ip_rules": list(account.ip_rules),
            "public_network_access": account.public_network_access,
        }
        if (account.network_default_action or "").lower() == wanted.lower():
            return _result(
                step, StepStatus.NO_OP, f"the network ACL default is already {wanted}", before=before, after=before
            )
        if self.dry_run:
            return _result(
                step, StepStatus.DRY_RUN, f"dry run: would set the network ACL default to {wanted}", before=before
            )
        self.snapshot(before)
        after = self.ports.cognitive.update_account(
            self.account_id, AccountPatch(network_default_action=wanted, ip_rules=tuple(account.ip_rules))
        )
        return _result(
            step,
            StepStatus.SUCCEEDED,
            f"network ACL default {account.network_default_action} -> {after.network_default_action}; "
            f"{len(after.ip_rules)} IP rule(s) kept",
            before=before,
            after={"network_default_action": after.network_default_action, "ip_rules": list(after.ip_rules)},
        )

    def tag_resource(self, account: AccountInfo) -> StepResult:
        step = self.step
        if isinstance(step.target, DeploymentId):
            return _result(
                step,
                StepStatus.SKIPPED,
                "tagging a deployment is not supported yet; use target: account in the playbook",
            )
        wanted = {str(k): str(v) for k, v in (step.parameters.get("tags") or {}).items()}
        wanted[INCIDENT_TAG] = self.request.incident_id
        current = {str(k): str(v) for k, v in account.tags.items()}
        before = {"tags": current, "added": sorted(wanted)}
        if all(current.get(k) == v for k, v in wanted.items()):
            return _result(step, StepStatus.NO_OP, "the tags are already set", before=before, after=before)
        if self.dry_run:
            return _result(step, StepStatus.DRY_RUN, f"dry run: would set tags {wanted}", before=before)
        self.snapshot(before)
        after = self.ports.cognitive.update_account(self.account_id, AccountPatch(tags={**current, **wanted}))
        return _result(
            step,
            StepStatus.SUCCEEDED,
            "tagged " + ", ".join(f"{k}={v}" for k, v in sorted(wanted.items())),
            before=before,
            after={"tags": dict(after.tags)},
        )


def _audit_result(ports: ResponsePorts, request: ExecuteRequest, result: StepResult) -> None:
    action = f"step.{result.status.value}"
    reason = result.error or result.detail or result.status.value
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor="warden",
            action=action,
            incident_id=request.incident_id,
            target=str(result.target),
            reason=reason[:2000],
            before=result.before,
            after=result.after,
            details={
                "step_id": result.step_id,
                "action": result.action.value,
                "approval": request.step.approval.value,
                "approved_by": list(request.approved_by),
                "dry_run": request.dry_run or ports.dry_run,
            },
        ),
        f"{action}:{result.step_id}",
    )


def _attempt(ports: ResponsePorts, request: ExecuteRequest) -> StepResult:
    """One attempt at the step: an Azure failure is a ``FAILED`` result; a transient one raises."""
    try:
        return _Executor(ports, request).run()
    except CognitiveTransientError:
        raise  # the claim is released; the orchestrator's retry runs the step again
    except CognitiveError as exc:
        return _result(request.step, StepStatus.FAILED, "the Azure call failed", error=str(exc)[:2000])
    except StorageError as exc:
        return _result(
            request.step, StepStatus.FAILED, "nothing changed: the snapshot could not be stored", error=str(exc)[:2000]
        )


def execute_step(ports: ResponsePorts, request: ExecuteRequest) -> StepResult:
    """Execute one planned step once (see the module docstring). A permanent Azure failure is
    a ``FAILED`` result; raises ``CognitiveTransientError`` for a transient one (nothing is
    recorded: retry the step), ``StepInProgressError`` when another run holds
    the step and ``StorageError`` when the idempotency store itself fails."""
    key = f"response:{request.incident_id}:{request.step.id}"
    now = ports.clock()
    claimed = run_step(
        ports.idempotency,
        key,
        lambda: _attempt(ports, request),
        clock=ports.clock,
        busy=f"step {request.step.id} of {request.incident_id} is running elsewhere",
    )
    result = claimed.result
    if not claimed.fresh:
        # The attempt that completed the step may have died before auditing it; once only.
        _audit_result(ports, request, result)
        return result
    if result.status is StepStatus.SUCCEEDED and result.action.disruptive:
        ports.breaker.record(
            key, at=now, incident_id=request.incident_id, action=result.action.value, target=str(result.target)
        )
    _audit_result(ports, request, result)
    _log.info("step %s (%s) on %s: %s", result.step_id, result.action.value, result.target, result.status.value)
    return result


def record_result(ports: ResponsePorts, request: RecordResultRequest) -> StepResult:
    """Audit a step run elsewhere (an emergency rotation sub-orchestration) and count it for
    the circuit breaker. Idempotent."""
    result = request.result
    if result.status is StepStatus.SUCCEEDED and result.action.disruptive:
        ports.breaker.record(
            f"response:{request.incident_id}:{result.step_id}",
            at=ports.clock(),
            incident_id=request.incident_id,
            action=result.action.value,
            target=str(result.target),
        )
    _audit_result(ports, ExecuteRequest(incident_id=request.incident_id, step=request.step, now=request.now), result)
    return result


TRANSIENT_READ_ATTEMPTS = 3
TRANSIENT_READ_DELAY = 2.0
"""A re-read hit by a transient error (after the SDK's own retries) is tried this often, this
many seconds apart, before it counts as failed (``verify_step``, the triage's tag read)."""


def read_with_retry(read: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """``read()``, again after ``CognitiveTransientError`` up to ``TRANSIENT_READ_ATTEMPTS`` times."""
    for attempt in range(1, TRANSIENT_READ_ATTEMPTS + 1):
        try:
            return read()
        except CognitiveTransientError:
            if attempt == TRANSIENT_READ_ATTEMPTS:
                raise
            sleep(TRANSIENT_READ_DELAY * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def verify_step(ports: ResponsePorts, incident_id: str, result: StepResult, step: ResponseStep) -> VerifyOutcome:
    """Re-read the target and say whether the step's desired state holds.

    Steps that changed nothing (skipped, failed, dry run, rejected) verify trivially as
    "nothing to check". A transient read error is retried (``read_with_retry``). Requires the
    read permissions of the action.
    """
    try:
        return read_with_retry(lambda: _verify_once(ports, incident_id, result, step))
    except CognitiveError as exc:
        return VerifyOutcome(step_id=step.id, verified=False, detail=f"could not re-read: {exc}"[:2000])


def _verify_once(ports: ResponsePorts, incident_id: str, result: StepResult, step: ResponseStep) -> VerifyOutcome:
    if result.status not in (StepStatus.SUCCEEDED, StepStatus.NO_OP):
        return VerifyOutcome(step_id=result.step_id, verified=True, detail=f"nothing to check ({result.status.value})")
    target = step.target
    try:
        if step.action is ActionKind.SWITCH_RAI_POLICY and isinstance(target, DeploymentId):
            dep = ports.cognitive.get_deployment(target)
            wanted = str(step.parameters.get("rai_policy") or "")
            ok = (dep.rai_policy_name or "").lower() == wanted.lower()
            ok = ok and (dep.provisioning_state or "").lower() != "failed"  # named but not running with it
            return VerifyOutcome(step_id=step.id, verified=ok, observed={"rai_policy_name": dep.rai_policy_name})
        if step.action is ActionKind.DELETE_DEPLOYMENT and isinstance(target, DeploymentId):
            try:
                dep = ports.cognitive.get_deployment(target)
            except CognitiveNotFoundError:
                return VerifyOutcome(step_id=step.id, verified=True, observed={"exists": False})
            unapproved = _unapproved_model(step)
            # Removing an unapproved model is done once the deployment no longer serves it.
            gone = unapproved is not None and not _serves(dep, unapproved)
            return VerifyOutcome(step_id=step.id, verified=gone, observed={"exists": True, "model": _model_label(dep)})
        if isinstance(target, AccountId | DeploymentId) and step.action in (
            ActionKind.DISABLE_LOCAL_AUTH,
            ActionKind.DENY_PUBLIC_NETWORK,
            ActionKind.TAG_RESOURCE,
        ):
            account = ports.cognitive.get_account(target.account)
            view = _account_view(account)
            if step.action is ActionKind.DISABLE_LOCAL_AUTH:
                ok = account.disable_local_auth
            elif step.action is ActionKind.DENY_PUBLIC_NETWORK:
                wanted = str(step.parameters.get("default_action") or "Deny")
                ok = (account.network_default_action or "").lower() == wanted.lower()
            else:
                ok = isinstance(target, DeploymentId) or account.tags.get(INCIDENT_TAG) == incident_id
            return VerifyOutcome(step_id=step.id, verified=ok, observed=view)
    except CognitiveTransientError:
        raise  # verify_step tries again
    except CognitiveError as exc:
        return VerifyOutcome(step_id=step.id, verified=False, detail=f"could not re-read: {exc}"[:2000])
    return VerifyOutcome(step_id=step.id, verified=True, detail="nothing to re-read for this action")


def verify_changes(ports: ResponsePorts, request: VerifyRequest) -> list[VerifyOutcome]:
    """Re-read every changed resource and say whether each step's desired state holds; audits the
    verdict once (``incident.verified`` / ``incident.verify_failed``). Requires the read
    permissions of the actions (``accounts/read``, ``accounts/deployments/read``)."""
    outcomes = [verify_step(ports, request.incident_id, item.result, item.step) for item in request.items]
    verified = all(o.verified for o in outcomes)
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor="warden",
            action="incident.verified" if verified else "incident.verify_failed",
            incident_id=request.incident_id,
            reason="every change re-read and found in place" if verified else "a change was not found in place",
            details={"outcomes": [o.model_dump(mode="json") for o in outcomes[:30]]},
        ),
        "incident.verified",
    )
    return outcomes
