"""Decisions the orchestrator asks of the policy (pure functions: no I/O, no clock).

- ``plan_response``: which playbook a finding gets, as concrete ``ResponseStep`` objects with
  their approval requirement after every guard, plus the steps left out and why.
- ``owners_for``: who to tell about a resource.
- ``is_model_allowed``: whether a model deployment is on the allowlist.

Protected resources
-------------------
A resource is protected when it carries one of ``protected.tags`` or is (or belongs to) one of
``protected.resource_ids``. Warden never changes a protected resource: every step except
``notify_owners`` is *skipped* (listed in ``ResponsePlan.skipped`` with the reason), not turned
into an approval request, so nobody can approve a change through Warden by mistake. Owners are
still notified, and a person who decides to act does so outside Warden.

Other guards, in order: a step whose target the finding does not name is dropped (a
``deployment`` step on an account-only finding); the circuit breaker turns every automatic
changing step into ``one_approver`` once ``guards.max_disruptive_actions_per_hour`` disruptive
actions ran in the past hour; for credential-theft alerts ``keys.credential_theft_rotates_both``
widens an emergency rotation to both keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.finding import Finding
from shared.policy.matching import finding_category, first_matching_rule, tags_match
from shared.policy.schema import Policy, Step
from shared.resource_ids import AccountId, DeploymentId, ResourceId, parse_resource_id
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep

__all__ = [
    "DEFAULT_RULE",
    "UNAPPROVED_MODEL_KIND",
    "UNAPPROVED_MODEL_RULE",
    "ResponsePlan",
    "SkippedStep",
    "is_model_allowed",
    "is_protected",
    "owners_for",
    "plan_response",
    "step_id",
]

UNAPPROVED_MODEL_KIND = "model:unapproved_deployment"
UNAPPROVED_MODEL_RULE = "models.on_unapproved"
"""``ResponsePlan.rule`` when ``models.on_unapproved`` chose the playbook."""
DEFAULT_RULE = "default_playbook"
"""``ResponsePlan.rule`` when no rule matched."""

_OWNER_SEPARATORS = str.maketrans({";": ",", "\n": ","})


class SkippedStep(BaseModel):
    """A playbook step left out of the plan, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    action: ActionKind
    target: str | None = None
    reason: str


class ResponsePlan(BaseModel):
    """What Warden will do about one finding, decided by policy.

    ``steps`` run in order, each with its approval requirement already final. ``skipped``
    lists playbook steps that will not run. ``dry_run`` means record every step as planned
    and change nothing. ``explanation`` says in words which rule matched and why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding_kind: str
    rule: str = Field(description="Matched rule name, or models.on_unapproved, or default_playbook.")
    playbook: str
    steps: tuple[ResponseStep, ...] = ()
    skipped: tuple[SkippedStep, ...] = ()
    owners: tuple[str, ...] = ()
    dry_run: bool = False
    notify_only: bool = False
    protected: bool = False
    planned_at: datetime
    explanation: str

    @property
    def needs_approval(self) -> bool:
        """Whether any step waits for a person."""
        return any(step.needs_approval for step in self.steps)


def step_id(index: int, step: Step) -> str:
    """Stable id of the ``index``-th (0-based) step of a playbook: ``s1-switch-rai-policy``."""
    return f"s{index + 1}-{step.action.value.replace('_', '-')}"


def is_protected(
    policy: Policy, resource: AccountId | DeploymentId | None, resource_tags: Mapping[str, str]
) -> str | None:
    """Why ``resource`` is protected (a phrase), or ``None`` if it is not."""
    for name, value in policy.protected.tags.items():
        if tags_match({name: value}, resource_tags) is not None:
            return f"it carries the protected tag {name}={value}"
    if resource is not None:
        for raw in policy.protected.resource_ids:
            protected = parse_resource_id(raw)
            if protected in (resource, resource.account):
                return f"{protected} is listed in protected.resource_ids"
    return None


def plan_response(
    policy: Policy,
    finding: Finding,
    resource_tags: Mapping[str, str],
    *,
    now: datetime,
    dry_run: bool = False,
    recent_disruptive_actions: int = 0,
) -> ResponsePlan:
    """Decide the response to ``finding``.

    ``resource_tags`` are the tags of the finding's account (empty if unknown); ``now`` is the
    orchestration's clock (``context.current_utc_datetime``); ``dry_run`` is the
    ``WARDEN_DRY_RUN`` setting (OR-ed with ``policy.dry_run``); ``recent_disruptive_actions``
    counts disruptive actions across the estate in the past hour (for the circuit breaker).
    """
    rule_name, playbook_name, why = _choose_playbook(policy, finding, resource_tags)
    playbook = policy.playbook(playbook_name)
    plan_dry_run = policy.dry_run or dry_run
    resource = finding.resource
    subscription = resource.subscription_id if resource is not None else None
    owners = tuple(owners_for(policy, resource_tags, subscription))
    notes = [why]
    if plan_dry_run:
        notes.append("dry run: every step is recorded, nothing is changed")

    if resource is None:
        skipped = tuple(
            SkippedStep(
                id=step_id(i, s),
                action=s.action,
                reason="the finding names no resource; only the owners are notified",
            )
            for i, s in enumerate(playbook.steps)
        )
        notes.append("the finding names no resource, so the plan only notifies the fallback owners")
        return ResponsePlan(
            finding_kind=finding.kind,
            rule=rule_name,
            playbook=playbook_name,
            skipped=skipped,
            owners=owners,
            dry_run=plan_dry_run,
            notify_only=True,
            planned_at=now,
            explanation=". ".join(notes) + ".",
        )

    account_or_deployment = resource if isinstance(resource, AccountId | DeploymentId) else None
    protected_because = is_protected(policy, account_or_deployment, resource_tags)
    if protected_because:
        notes.append(f"the resource is protected ({protected_because}): Warden changes nothing on it")
    breaker_open = recent_disruptive_actions >= policy.guards.max_disruptive_actions_per_hour
    if breaker_open:
        notes.append(
            f"circuit breaker open ({recent_disruptive_actions} disruptive actions in the past hour, "
            f"limit {policy.guards.max_disruptive_actions_per_hour}): every change needs approval"
        )

    steps: list[ResponseStep] = []
    skipped_steps: list[SkippedStep] = []
    for index, step in enumerate(playbook.steps):
        sid = step_id(index, step)
        target, missing = _resolve_target(step, finding)
        if target is None:
            skipped_steps.append(SkippedStep(id=sid, action=step.action, reason=missing))
            continue
        if protected_because and step.action is not ActionKind.NOTIFY_OWNERS:
            skipped_steps.append(
                SkippedStep(
                    id=sid,
                    action=step.action,
                    target=str(target),
                    reason=f"protected resource ({protected_because}); Warden never changes it",
                )
            )
            continue
        approval = step.effective_approval
        approval_why = _approval_reason(step)
        if breaker_open and step.action is not ActionKind.NOTIFY_OWNERS and approval is ApprovalRequirement.AUTOMATIC:
            approval = ApprovalRequirement.ONE_APPROVER
            approval_why = "circuit breaker open"
        parameters = step.parameters()
        if (
            step.action is ActionKind.ROTATE_KEY_EMERGENCY
            and policy.keys.credential_theft_rotates_both
            and finding_category(finding) == "credential_theft"
        ):
            parameters["keys"] = "both"
        if step.action is ActionKind.DELETE_DEPLOYMENT:
            parameters["allow_delete_last_deployment"] = policy.guards.allow_delete_last_deployment
            unapproved = _unapproved_model(finding, target)
            if unapproved is not None:
                parameters["unapproved_model"] = unapproved
        label = step.description or step.action.value
        steps.append(
            ResponseStep(
                id=sid,
                action=step.action,
                target=target,
                parameters=parameters,
                approval=approval,
                reason=f"playbook {playbook_name} step {index + 1}: {label}; {approval.value} ({approval_why})"[:1000],
            )
        )

    for skipped_step in skipped_steps:
        notes.append(f"{skipped_step.id} skipped: {skipped_step.reason}")
    return ResponsePlan(
        finding_kind=finding.kind,
        rule=rule_name,
        playbook=playbook_name,
        steps=tuple(steps),
        skipped=tuple(skipped_steps),
        owners=owners,
        dry_run=plan_dry_run,
        protected=protected_because is not None,
        planned_at=now,
        explanation=". ".join(notes) + ".",
    )


def _choose_playbook(policy: Policy, finding: Finding, resource_tags: Mapping[str, str]) -> tuple[str, str, str]:
    if finding.kind.lower() == UNAPPROVED_MODEL_KIND and policy.models.on_unapproved is not None:
        return (
            UNAPPROVED_MODEL_RULE,
            policy.models.on_unapproved,
            f"models.on_unapproved chose playbook `{policy.models.on_unapproved}` for kind {finding.kind}",
        )
    matched = first_matching_rule(policy, finding, resource_tags)
    if matched is None:
        return (
            DEFAULT_RULE,
            policy.default_playbook,
            f"no rule matched kind {finding.kind}; default playbook `{policy.default_playbook}`",
        )
    return (
        matched.rule.name,
        matched.rule.playbook,
        f"rule `{matched.rule.name}` matched {' and '.join(matched.reasons)}; playbook `{matched.rule.playbook}`",
    )


def _unapproved_model(finding: Finding, target: ResourceId) -> dict[str, str | None] | None:
    """For an unapproved-model finding whose deployment is the step's target: the model it named
    (``name``, ``version``, ``format``). The delete step removes the deployment only while it still
    serves that model, and the last-deployment guard (which keeps approved models serving) does not
    hold it back. ``None`` for any other finding or target."""
    if finding.kind.lower() != UNAPPROVED_MODEL_KIND or finding.resource is None:
        return None
    if str(finding.resource).lower() != str(target).lower():
        return None
    model = finding.evidence.get("model")
    if not isinstance(model, Mapping) or not str(model.get("name") or "").strip():
        return None
    version = model.get("version")
    return {
        "name": str(model["name"]),
        "version": str(version) if version not in (None, "") else None,
        "format": str(model.get("format") or "OpenAI"),
    }


def _resolve_target(step: Step, finding: Finding) -> tuple[ResourceId | None, str]:
    resource = finding.resource
    wanted = step.effective_target
    if wanted == "deployment":
        if isinstance(resource, DeploymentId):
            return resource, ""
        if isinstance(resource, AccountId):
            return None, "the step acts on a deployment but the finding names only the account"
        return None, f"the step acts on a deployment but the finding's resource is a {_kind_of(resource)}"
    account = finding.account
    if account is not None:
        return account, ""
    if step.action is ActionKind.NOTIFY_OWNERS and resource is not None:
        return resource, ""  # owners of a vault or workspace are still told
    return None, f"the step acts on an AI account but the finding's resource is a {_kind_of(resource)}"


def _kind_of(resource: object) -> str:
    return str(getattr(resource, "kind", "resource"))


def _approval_reason(step: Step) -> str:
    if step.approval is not None:
        return "set in the playbook"
    if step.high_risk:
        return "high-risk step"
    if step.action.disruptive:
        return "disruptive action"
    return "not disruptive"


def owners_for(policy: Policy, resource_tags: Mapping[str, str], subscription_id: str | None) -> list[str]:
    """Who owns a resource: the contacts in its owner tags (``owners.tags``, in order), else the
    fallback for its subscription, else the default fallback. Never empty for a valid policy.

    Tag values may list several contacts separated by commas or semicolons; duplicates are
    removed (case-insensitively), first occurrence kept.
    """
    by_name = {str(name).lower(): str(value) for name, value in resource_tags.items()}
    found: list[str] = []
    for tag in policy.owners.tags:
        value = by_name.get(tag.lower())
        if value:
            found.extend(part.strip() for part in value.translate(_OWNER_SEPARATORS).split(","))
    owners = _unique(found)
    if owners:
        return owners
    fallback = policy.owners.fallback
    if subscription_id is not None:
        contacts = fallback.by_subscription.get(subscription_id.strip().lower())
        if contacts:
            return _unique(list(contacts))
    return _unique(list(fallback.default))


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for value in values:
        if value and value.lower() not in seen:
            seen.add(value.lower())
            result.append(value)
    return result


def is_model_allowed(policy: Policy, name: str, version: str, format: str) -> bool:
    """Whether a deployment of model ``name`` ``version`` (``format``, e.g. OpenAI) is allowed.

    Names and formats compare case-insensitively, versions exactly. An empty allowlist allows
    every model (no allowlist is enforced).
    """
    allowlist = policy.models.allowlist
    if not allowlist:
        return True
    wanted_name, wanted_format, wanted_version = name.strip().lower(), format.strip().lower(), version.strip()
    return any(
        entry.name.lower() == wanted_name
        and entry.format.lower() == wanted_format
        and ("*" in entry.versions or wanted_version in entry.versions)
        for entry in allowlist
    )
