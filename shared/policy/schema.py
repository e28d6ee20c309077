"""The policy schema: what ``policy.yaml`` may contain, with defaults and cross-field checks.

Every model is frozen and forbids unknown fields, so a typo is an error rather than a silently
ignored setting. The attribute docstrings below are the policy reference: they become the
field descriptions of the JSON Schema (``policy_json_schema()``) and of ``docs/policy.md``.

Checks that span fields (every rule names a defined playbook, approve-on-timeout is refused
when a step is high-risk, ...) live in ``policy_problems()``, which reports each problem with
its path so the loader can point at a line. ``Policy.model_validate`` runs them too, unless the
validation context carries ``{"defer_cross_field_checks": True}`` (the loader's way of getting
them one by one instead of as one message).
"""

from __future__ import annotations

import re
import typing
import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.finding import FindingSource, Severity
from shared.policy.durations import DURATION_PATTERN, Duration, format_duration, parse_duration
from shared.resource_ids import AccountId, DeploymentId, InvalidResourceIdError, parse_resource_id
from shared.response.steps import ActionKind, ApprovalRequirement

__all__ = [
    "ALERT_CATEGORIES",
    "KNOWN_FINDING_KINDS",
    "KNOWN_KIND_NAMESPACES",
    "POLICY_SCHEMA_ID",
    "AlertCategoryName",
    "AnomalyPolicy",
    "ApprovalPolicy",
    "ApprovedModel",
    "BurstDetector",
    "EscalationLevel",
    "GuardPolicy",
    "IneligibleApprovers",
    "KeyPolicy",
    "ModelPolicy",
    "NewCallerIpDetector",
    "NotificationPolicy",
    "OwnerFallback",
    "OwnerPolicy",
    "Playbook",
    "Policy",
    "ProtectionPolicy",
    "Rule",
    "RuleMatch",
    "SpikeDetector",
    "Step",
    "SwitchDetector",
    "policy_json_schema",
    "policy_problems",
]

POLICY_SCHEMA_ID = "urn:warden:policy-schema:1"
"""The schema's ``$id``: a name, not a download location (editors use the file path)."""

AlertCategoryName = Literal[
    "jailbreak",
    "prompt_injection",
    "credential_theft",
    "malicious_url",
    "suspicious_access",
    "wallet_abuse",
    "reconnaissance",
    "anomalous_tool",
    "anomalous_operation",
    "data_leak",
    "model_malware",
    "exposed_service",
    "ai_other",
]
"""Defender for AI alert categories (``shared.alerts.catalogue.AlertCategory`` values)."""
ALERT_CATEGORIES: tuple[str, ...] = typing.get_args(AlertCategoryName)

KNOWN_FINDING_KINDS: frozenset[str] = frozenset(
    {
        "key:age_exceeded",
        "key:not_in_vault",
        "key:secret_without_expiry",
        "key:local_auth_enabled",
        "key:out_of_band_operation",
        "key:near_expiry",
        "key:expired",
        "key:leaked",
        "anomaly:token_spike",
        "anomaly:request_spike",
        "anomaly:auth_failure_burst",
        "anomaly:blocked_prompt_spike",
        "anomaly:new_caller_ip",
        "anomaly:key_operation_by_other",
        "model:unapproved_deployment",
        "posture:public_network_open",
        "posture:local_auth_enabled",
        "posture:no_diagnostic_settings",
        "posture:defender_for_ai_disabled",
    }
)
"""Every non-Defender finding kind Warden produces. A detector that adds a kind adds it here,
so a rule naming a misspelt kind is an error instead of a rule that never matches."""

KNOWN_KIND_NAMESPACES: tuple[str, ...] = ("defender", "key", "anomaly", "model", "posture")
"""The part before ``:`` of every finding kind; ``defender:`` kinds are open-ended alert types."""

_NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_KIND_PATTERN_RE = re.compile(r"^[A-Za-z0-9_.:*?\-\[\]!]{1,200}$")
_GLOB_CHARS = frozenset("*?[")
_TAG_NAME_FORBIDDEN = frozenset("<>%&\\?/")


def _config() -> ConfigDict:
    return ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class _Model(BaseModel):
    model_config = _config()


# --- reusable field types ---------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    """Let a single value stand for a one-item list (``kind: key:leaked``)."""
    if isinstance(value, str | int | float | bool):
        return [value]
    return value


def _one_or_many_schema(item: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]})


def _parse_severity(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError:
            return value  # pydantic reports the enum error with the accepted values
    return value


SeverityName = Annotated[
    Severity,
    BeforeValidator(_parse_severity),
    WithJsonSchema({"enum": [s.value for s in Severity], "type": "string"}),
]
"""A severity, case-insensitive: Informational, Low, Medium or High."""

Name = Annotated[str, Field(pattern=_NAME_RE)]
"""A playbook or rule name: lower-case letters, digits, '-' and '_', at most 63 characters."""

Principal = Annotated[str, Field(min_length=1, max_length=256)]
"""Who: an Entra group or user object id, an app role, a UPN, or an e-mail address."""


def _tag_name(value: str) -> str:
    if not 1 <= len(value) <= 512:
        raise ValueError("a tag name has 1 to 512 characters")
    bad = sorted(_TAG_NAME_FORBIDDEN.intersection(value))
    if bad:
        raise ValueError(f"a tag name may not contain {' '.join(bad)} (Azure's tag naming rules)")
    return value


def _tag_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"  # `warden-protected: true` means the text "true"
    if isinstance(value, int | float):
        return str(value)
    return value


TagName = Annotated[str, BeforeValidator(lambda v: _tag_name(v) if isinstance(v, str) else v)]
TagValue = Annotated[
    str,
    BeforeValidator(_tag_value),
    Field(max_length=256),
    WithJsonSchema({"type": ["string", "boolean", "number"], "maxLength": 256}),
]
TagMap = dict[TagName, TagValue]


def _guid(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a subscription GUID") from None
        if len(value) != 36:
            raise ValueError(f"{value!r} is not in the 8-4-4-4-12 GUID form")
        return str(parsed)
    return value


Guid = Annotated[
    str,
    BeforeValidator(_guid),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]

StrList = Annotated[
    tuple[str, ...],
    BeforeValidator(_as_list),
    _one_or_many_schema({"type": "string"}),
]


# --- playbooks --------------------------------------------------------------------------------

_DEPLOYMENT_ACTIONS = frozenset({ActionKind.SWITCH_RAI_POLICY, ActionKind.DELETE_DEPLOYMENT})
_EITHER_TARGET_ACTIONS = frozenset({ActionKind.NOTIFY_OWNERS, ActionKind.TAG_RESOURCE})
_STEP_PARAMETERS: dict[ActionKind, dict[str, bool]] = {
    # action -> {parameter: required}
    ActionKind.SWITCH_RAI_POLICY: {"rai_policy": True},
    ActionKind.DENY_PUBLIC_NETWORK: {"default_action": False},
    ActionKind.ROTATE_KEY_EMERGENCY: {"keys": False},
    ActionKind.TAG_RESOURCE: {"tags": True},
    ActionKind.DELETE_DEPLOYMENT: {"snapshot": False},
}
_PARAMETER_DEFAULTS: dict[str, Any] = {"default_action": "Deny", "keys": "exposed", "snapshot": True}
_ALL_PARAMETERS = ("rai_policy", "default_action", "keys", "tags", "snapshot")
_APPROVAL_RANK = {
    ApprovalRequirement.AUTOMATIC: 0,
    ApprovalRequirement.ONE_APPROVER: 1,
    ApprovalRequirement.TWO_APPROVERS: 2,
}


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error the loader attaches to ``field`` of the object being validated (for its line)."""
    return PydanticCustomError("policy_field", "{field}: {message}", {"field": field, "message": message})


class Step(_Model):
    """One step of a playbook: an action on the finding's deployment or account."""

    action: ActionKind
    """What to do: notify_owners, tag_resource, switch_rai_policy, delete_deployment,
    disable_local_auth, deny_public_network, rotate_key_scheduled or rotate_key_emergency."""
    target: Literal["deployment", "account"] | None = None
    """What of the finding's resource the step acts on. switch_rai_policy and delete_deployment
    act on the deployment; the other changes act on the account; notify_owners and tag_resource
    may do either. Defaults to the action's natural target. A deployment step is dropped (with
    the reason in the plan) when the finding names only an account."""
    approval: ApprovalRequirement | None = None
    """automatic, one_approver or two_approvers. Default: two_approvers for a high_risk step,
    one_approver for a disruptive action (switch_rai_policy, delete_deployment,
    disable_local_auth, deny_public_network, rotate_key_emergency), automatic otherwise."""
    high_risk: bool = False
    """Separation of duties: the step needs two different approvers and may never be approved
    by timeout (approvals.final_decision: approve is then refused)."""
    description: str = Field(default="", max_length=500)
    """Free text shown to approvers next to the step."""
    rai_policy: str | None = Field(default=None, min_length=1, max_length=128)
    """switch_rai_policy only (required): the content-filter (RAI) policy name to switch the
    deployment to, e.g. warden-strict. It must exist on the account."""
    default_action: Literal["Deny"] | None = None
    """deny_public_network only: the network ACL default action to set (Deny, the default)."""
    keys: Literal["exposed", "both"] | None = None
    """rotate_key_emergency only: regenerate only the exposed key (exposed, the default) or
    both keys (both; every client breaks until it reads the new key)."""
    tags: TagMap | None = None
    """tag_resource only (required): tags to set on the target, e.g. {warden-status: contained}."""
    snapshot: bool | None = None
    """delete_deployment only: record the deployment's definition first so it can be restored
    (default true). false makes the deletion irreversible."""

    @model_validator(mode="after")
    def _fits_action(self) -> Step:
        accepted = _STEP_PARAMETERS.get(self.action, {})
        for name in _ALL_PARAMETERS:
            if getattr(self, name) is not None and name not in accepted:
                takes = f"takes only {', '.join(accepted)}" if accepted else "takes no parameters"
                raise _field_error(name, f"is not a parameter of {self.action.value} (it {takes})")
        for name, required in accepted.items():
            if required and getattr(self, name) is None:
                raise _field_error(name, f"{self.action.value} needs '{name}'")
        if self.tags is not None and not self.tags:
            raise _field_error("tags", "name at least one tag to set")
        natural = self.natural_target
        if self.target is not None and self.action not in _EITHER_TARGET_ACTIONS and self.target != natural:
            raise _field_error("target", f"{self.action.value} acts on the {natural}, not the {self.target}")
        if (
            self.high_risk
            and self.approval is not None
            and _APPROVAL_RANK[self.approval] < _APPROVAL_RANK[ApprovalRequirement.TWO_APPROVERS]
        ):
            raise _field_error(
                "approval", f"a high_risk step needs two_approvers (separation of duties), not {self.approval}"
            )
        return self

    @property
    def natural_target(self) -> Literal["deployment", "account"]:
        """The target the action implies (deployment for RAI switch and delete, else account)."""
        return "deployment" if self.action in _DEPLOYMENT_ACTIONS else "account"

    @property
    def effective_target(self) -> Literal["deployment", "account"]:
        """``target`` if set, else the natural target."""
        return self.target or self.natural_target

    @property
    def effective_approval(self) -> ApprovalRequirement:
        """``approval`` if set, else derived from ``high_risk`` and the action's disruptiveness."""
        if self.approval is not None:
            return self.approval
        if self.high_risk:
            return ApprovalRequirement.TWO_APPROVERS
        if self.action.disruptive:
            return ApprovalRequirement.ONE_APPROVER
        return ApprovalRequirement.AUTOMATIC

    def parameters(self) -> dict[str, Any]:
        """The action's parameters with defaults filled in (what the activity receives)."""
        result: dict[str, Any] = {}
        for name in _STEP_PARAMETERS.get(self.action, {}):
            value = getattr(self, name)
            if value is None:
                value = _PARAMETER_DEFAULTS.get(name)
            if value is not None:
                result[name] = dict(value) if isinstance(value, dict) else value
        return result


class Playbook(_Model):
    """A named, ordered list of steps."""

    description: str = Field(default="", max_length=500)
    """What the playbook is for (shown in plans and notifications)."""
    steps: tuple[Step, ...] = Field(min_length=1, max_length=20)
    """The steps, run in order."""


# --- rules ------------------------------------------------------------------------------------


def _kind_pattern(value: str) -> str:
    if not _KIND_PATTERN_RE.match(value):
        raise ValueError(
            f"{value!r} is not a finding kind or glob (letters, digits, _ . : - and the glob characters * ? [ ])"
        )
    namespace, sep, _rest = value.partition(":")
    if not sep:
        if _GLOB_CHARS.isdisjoint(value):
            raise ValueError(f"{value!r} has no namespace; kinds look like anomaly:token_spike or defender:*")
        return value
    lowered = namespace.lower()
    if _GLOB_CHARS.isdisjoint(namespace) and lowered not in KNOWN_KIND_NAMESPACES:
        raise ValueError(
            f"unknown kind namespace {namespace!r} in {value!r}; known: {', '.join(KNOWN_KIND_NAMESPACES)}"
        )
    exact_known_namespace = lowered in KNOWN_KIND_NAMESPACES and lowered != "defender"
    if exact_known_namespace and _GLOB_CHARS.isdisjoint(value) and value.lower() not in KNOWN_FINDING_KINDS:
        known = sorted(k for k in KNOWN_FINDING_KINDS if k.startswith(lowered + ":"))
        raise ValueError(f"unknown finding kind {value!r}; known {lowered} kinds: {', '.join(known)}")
    return value


KindPattern = Annotated[str, BeforeValidator(lambda v: _kind_pattern(v) if isinstance(v, str) else v)]


def _protected_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = parse_resource_id(value)
    except InvalidResourceIdError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(parsed, AccountId | DeploymentId):
        raise ValueError(f"only AI accounts and deployments can be protected, not a {parsed.kind}")
    return str(parsed)


class RuleMatch(_Model):
    """Conditions a finding must meet; all given conditions must hold (AND). A list within
    one condition matches any of its items (OR). An empty match matches every finding."""

    source: Annotated[
        tuple[FindingSource, ...],
        BeforeValidator(_as_list),
        _one_or_many_schema({"enum": [s.value for s in FindingSource], "type": "string"}),
    ] = ()
    """Finding source(s): defender_alert, key_hygiene, key_vault_event, anomaly,
    resource_event, posture."""
    kind: Annotated[
        tuple[KindPattern, ...],
        BeforeValidator(_as_list),
        _one_or_many_schema({"type": "string", "pattern": _KIND_PATTERN_RE.pattern}),
    ] = ()
    """Finding kind(s), exact or glob (* ? [..]), compared case-insensitively:
    anomaly:token_spike, key:*, defender:AI.Azure_Jailbreak*. Exact non-Defender kinds must be
    ones Warden produces."""
    category: Annotated[
        tuple[AlertCategoryName, ...],
        BeforeValidator(_as_list),
        _one_or_many_schema({"enum": list(ALERT_CATEGORIES), "type": "string"}),
    ] = ()
    """Defender for AI alert category(ies) (the finding's evidence.category): jailbreak,
    prompt_injection, credential_theft, malicious_url, suspicious_access, wallet_abuse,
    reconnaissance, anomalous_tool, anomalous_operation, data_leak, model_malware,
    exposed_service, ai_other. Findings without a category never match a rule that sets it."""
    min_severity: SeverityName | None = None
    """Lowest severity that matches (Informational < Low < Medium < High)."""
    tags: TagMap = Field(default={})
    """Tags the resource must carry, all of them; names and values compare case-insensitively,
    and the value * means any value."""
    subscriptions: Annotated[
        tuple[Guid, ...],
        BeforeValidator(_as_list),
        _one_or_many_schema({"type": "string", "format": "uuid"}),
    ] = ()
    """Subscription id(s) the resource must be in. Findings without a resource never match."""

    @property
    def is_catch_all(self) -> bool:
        """True when no condition is set (the rule matches every finding)."""
        return not (
            self.source
            or self.kind
            or self.category
            or self.min_severity is not None
            or self.tags
            or self.subscriptions
        )


class Rule(_Model):
    """Maps matching findings to a playbook. Rules are tried in order; the first match wins."""

    name: Name
    """Unique rule name (shown in plans, audit and explanations)."""
    description: str = Field(default="", max_length=500)
    """Why the rule exists."""
    match: RuleMatch = Field(default=RuleMatch())
    """The conditions (see RuleMatch). Omit for a rule that matches everything."""
    playbook: Name
    """The playbook to run; it must be defined under playbooks."""


# --- approvals --------------------------------------------------------------------------------


class EscalationLevel(_Model):
    """One level of the escalation chain."""

    approvers: tuple[Principal, ...] = Field(min_length=1)
    """Who is asked at this level (group or user object ids, app roles, UPNs): free strings
    resolved by the notifier."""
    wait: Duration
    """How long this level has to answer before the next level is asked as well."""


class IneligibleApprovers(_Model):
    """Who may never approve a step, even with the approver role."""

    resource_owners: bool = True
    """The resource's owners (from the owner tags) may not approve changes to it."""
    causer: bool = True
    """The identity that caused the finding (the caller of an out-of-band key operation, the
    creator of an unapproved deployment) may not approve the response to it."""
    principals: tuple[Principal, ...] = ()
    """Further identities that may never approve (e.g. shared or break-glass accounts)."""


class ApprovalPolicy(_Model):
    """How approvals are requested, reminded, escalated and decided on timeout."""

    timeout: Duration = timedelta(hours=4)
    """How long a step waits for a decision before final_decision applies."""
    reminder_interval: Duration = timedelta(minutes=30)
    """How often waiting approvers are reminded; shorter than timeout."""
    escalation: tuple[EscalationLevel, ...] = ()
    """Escalation levels, in order; the first level is asked at once. Their waits together
    must fit within timeout."""
    final_decision: Literal["deny", "approve"] = "deny"
    """What happens when nobody decides in time: deny (the default; the step is recorded as
    expired) or approve. approve is refused when any playbook has a high_risk step."""
    ineligible: IneligibleApprovers = Field(default=IneligibleApprovers())
    """Who may not approve (owners and causer by default)."""


# --- keys, models, anomalies ------------------------------------------------------------------


class KeyPolicy(_Model):
    """API key hygiene and rotation."""

    max_age_days: int = Field(default=90, ge=1, le=3650)
    """A key older than this raises key:age_exceeded."""
    validity_period_days: int = Field(default=60, ge=1, le=3650)
    """Expiry set on the Key Vault secret written by a rotation; at most max_age_days."""
    grace_period: Duration = timedelta(hours=24)
    """How long the previous key stays valid after a rotation before the rotation counts as
    done (clients re-read the secret meanwhile)."""
    emergency_rotation_requires_approval: bool = True
    """rotate_key_emergency steps always need approval; a playbook that makes one automatic is
    refused while this is true."""
    credential_theft_rotates_both: bool = False
    """For credential_theft alerts, treat both keys as exposed (rotate_key_emergency with
    keys: exposed becomes keys: both)."""


class ApprovedModel(_Model):
    """One allowed model."""

    name: str = Field(min_length=1, max_length=100)
    """Model name, case-insensitive, e.g. gpt-4o."""
    versions: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=50)], ...],
        BeforeValidator(_as_list),
        _one_or_many_schema({"type": "string"}),
    ] = ("*",)
    """Allowed versions, e.g. [2024-08-06, 2024-11-20], or * for any version (the default)."""
    format: str = Field(default="OpenAI", min_length=1, max_length=50)
    """Model format (publisher), case-insensitive, e.g. OpenAI."""

    @field_validator("versions", mode="before")
    @classmethod
    def _stringify_versions(cls, value: Any) -> Any:
        # `versions: [2024-08-06]` is read by YAML as text, but `versions: [1]` as a number.
        if isinstance(value, list | tuple):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
        return value


class ModelPolicy(_Model):
    """Which models may be deployed."""

    allowlist: tuple[ApprovedModel, ...] = ()
    """Approved models. Empty means no allowlist is enforced (every model is allowed)."""
    on_unapproved: Name | None = None
    """Playbook for model:unapproved_deployment findings; consulted before the rules. Unset:
    the rules decide like for any other finding."""


class SpikeDetector(_Model):
    """A volume detector (anomaly score against a seasonal baseline)."""

    enabled: bool = True
    """Run the detector."""
    score_threshold: FiniteFloat = Field(default=3.0, gt=0, le=100)
    """Anomaly score above which a point counts as a spike (series_decompose_anomalies)."""
    baseline: Duration = timedelta(days=14)
    """History the baseline is learnt from."""
    step: Duration = timedelta(hours=1)
    """Bucket size of the time series; shorter than baseline."""
    severity: SeverityName = Severity.MEDIUM
    """Severity of the findings it raises."""


class BurstDetector(_Model):
    """A count detector: at least count events within window."""

    enabled: bool = True
    """Run the detector."""
    count: int = Field(default=20, ge=1, le=1_000_000)
    """Events within window that make a burst."""
    window: Duration = timedelta(minutes=5)
    """The sliding window."""
    severity: SeverityName = Severity.MEDIUM
    """Severity of the findings it raises."""


class NewCallerIpDetector(_Model):
    """A caller IP address not seen during the baseline."""

    enabled: bool = True
    """Run the detector."""
    baseline: Duration = timedelta(days=14)
    """History of known caller IPs."""
    severity: SeverityName = Severity.LOW
    """Severity of the findings it raises."""


class SwitchDetector(_Model):
    """A detector with no threshold: it either runs or not."""

    enabled: bool = True
    """Run the detector."""
    severity: SeverityName = Severity.HIGH
    """Severity of the findings it raises."""


class AnomalyPolicy(_Model):
    """Per-detector thresholds, windows and severities of the usage anomaly detectors (KQL)."""

    token_spike: SpikeDetector = Field(default=SpikeDetector())
    """Token consumption spikes per account (anomaly:token_spike); exported metrics carry no
    deployment dimension."""
    request_spike: SpikeDetector = Field(default=SpikeDetector())
    """Request count spikes per account (anomaly:request_spike)."""
    auth_failure_burst: BurstDetector = Field(default=BurstDetector())
    """Authentication failures (401/403) per caller IP (anomaly:auth_failure_burst);
    default 20 in 5m."""
    blocked_prompt_spike: BurstDetector = Field(default=BurstDetector(count=10, window=timedelta(hours=1)))
    """Prompts blocked by content filtering per account (anomaly:blocked_prompt_spike);
    default 10 in 1h."""
    new_caller_ip: NewCallerIpDetector = Field(default=NewCallerIpDetector())
    """Calls from an IP address not seen in the baseline (anomaly:new_caller_ip)."""
    key_operation_by_other: SwitchDetector = Field(default=SwitchDetector())
    """List/regenerate key operations by anyone but Warden (anomaly:key_operation_by_other)."""


# --- owners, protection, guards, notifications ------------------------------------------------


class OwnerFallback(_Model):
    """Who to contact when a resource has no owner tags."""

    by_subscription: dict[Guid, tuple[Principal, ...]] = Field(default={})
    """Contacts per subscription id, tried first."""
    default: tuple[Principal, ...] = Field(min_length=1)
    """Contacts of last resort (required: every finding must reach someone)."""


class OwnerPolicy(_Model):
    """Where owners come from."""

    tags: StrList = ("owner", "security-contact")
    """Tag names read for owners, in order; values may hold several contacts separated by
    commas or semicolons. Tag names compare case-insensitively."""
    fallback: OwnerFallback
    """Contacts used when no owner tag is set (see OwnerFallback)."""


class ProtectionPolicy(_Model):
    """Resources Warden never changes automatically. Changing steps on them are skipped (with
    the reason in the plan); owners are still notified."""

    tags: TagMap = Field(default={"warden-protected": "true"})
    """A resource carrying any of these tags (name and value, case-insensitive) is protected."""
    resource_ids: Annotated[
        tuple[Annotated[str, BeforeValidator(_protected_id)], ...],
        WithJsonSchema({"type": "array", "items": {"type": "string", "pattern": "^/subscriptions/"}}),
    ] = ()
    """ARM ids of protected accounts or deployments; protecting an account protects its
    deployments."""


class GuardPolicy(_Model):
    """Estate-wide safety limits."""

    max_disruptive_actions_per_hour: int = Field(default=5, ge=0, le=10_000)
    """Circuit breaker: once this many disruptive actions ran in the past hour (across the
    estate), every further changing step needs approval. 0 makes every change need approval."""
    allow_delete_last_deployment: bool = False
    """Whether delete_deployment may remove the last deployment of a model on an account. The
    guard keeps approved models serving; it does not apply when the step removes a deployment
    because its model is not on the allowlist (``models.on_unapproved``), which is deleted only
    while it still serves that model."""


class NotificationPolicy(_Model):
    """Notification channels; at least one must be on."""

    event_grid: bool = True
    """Publish CloudEvents to the Event Grid topic (WARDEN_NOTIFY_TOPIC_ENDPOINT)."""
    teams: bool = True
    """Post Adaptive Cards to Teams (WARDEN_TEAMS_WEBHOOK_URL)."""


# --- the policy -------------------------------------------------------------------------------


def _exact_version(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and value == 1):
        raise ValueError(f"expected the number 1, got {value!r}")
    return value


class Policy(_Model):
    """A Warden response policy (policy.yaml)."""

    version: Annotated[Literal[1], BeforeValidator(_exact_version)]
    """Schema version; must be 1."""
    description: str = Field(default="", max_length=2000)
    """Free text about this policy."""
    dry_run: bool = False
    """Plan and record every step but change nothing. Combined with the WARDEN_DRY_RUN
    setting: either one turns dry run on."""
    owners: OwnerPolicy
    """Owner tags and fallback contacts (required: a default fallback)."""
    playbooks: dict[Name, Playbook] = Field(min_length=1)
    """Named playbooks."""
    rules: tuple[Rule, ...] = ()
    """Rules mapping findings to playbooks, tried in order; the first match wins."""
    default_playbook: Name
    """Playbook for findings no rule matches (the catch-all)."""
    approvals: ApprovalPolicy = Field(default=ApprovalPolicy())
    """Approval timeout, reminders, escalation and eligibility."""
    keys: KeyPolicy = Field(default=KeyPolicy())
    """Key age, validity and rotation settings."""
    models: ModelPolicy = Field(default=ModelPolicy())
    """Model allowlist and the response to unapproved deployments."""
    anomalies: AnomalyPolicy = Field(default=AnomalyPolicy())
    """Anomaly detector thresholds."""
    protected: ProtectionPolicy = Field(default=ProtectionPolicy())
    """Resources never changed automatically."""
    guards: GuardPolicy = Field(default=GuardPolicy())
    """Circuit breaker and deletion guard."""
    notifications: NotificationPolicy = Field(default=NotificationPolicy())
    """Notification channels."""

    @model_validator(mode="after")
    def _cross_field(self, info: ValidationInfo) -> Policy:
        context = info.context if isinstance(info.context, dict) else {}
        if context.get("defer_cross_field_checks"):
            return self
        problems = policy_problems(self)
        if problems:
            raise ValueError("; ".join(f"{_dotted(path)}: {message}" for path, message in problems))
        return self

    def playbook(self, name: str) -> Playbook:
        """The playbook called ``name`` (``KeyError`` if none; a valid policy defines every
        playbook a rule names)."""
        return self.playbooks[name]

    def high_risk_steps(self) -> list[tuple[str, int]]:
        """(playbook, step index) of every high-risk step."""
        return [
            (name, index)
            for name, playbook in self.playbooks.items()
            for index, step in enumerate(playbook.steps)
            if step.high_risk
        ]


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _undefined(name: str, policy: Policy) -> str:
    return f"{name!r} is not a defined playbook (defined: {', '.join(sorted(policy.playbooks))})"


def policy_problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field problems of an otherwise well-formed policy, each with its document path."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    defined = policy.playbooks
    if policy.default_playbook not in defined:
        problems.append((("default_playbook",), _undefined(policy.default_playbook, policy)))
    if policy.models.on_unapproved is not None and policy.models.on_unapproved not in defined:
        problems.append((("models", "on_unapproved"), _undefined(policy.models.on_unapproved, policy)))

    seen_rules: dict[str, int] = {}
    catch_all: str | None = None
    for index, rule in enumerate(policy.rules):
        if rule.playbook not in defined:
            problems.append((("rules", index, "playbook"), _undefined(rule.playbook, policy)))
        if rule.name in seen_rules:
            problems.append(
                (("rules", index, "name"), f"duplicate rule name {rule.name!r} (also rules[{seen_rules[rule.name]}])")
            )
        else:
            seen_rules[rule.name] = index
        if catch_all is not None:
            problems.append(
                (
                    ("rules", index),
                    f"rule {rule.name!r} can never match: rule {catch_all!r} before it matches everything",
                )
            )
        elif rule.match.is_catch_all:
            catch_all = rule.name

    high_risk = policy.high_risk_steps()
    if policy.approvals.final_decision == "approve" and high_risk:
        named = ", ".join(f"playbooks.{name}.steps[{index}]" for name, index in high_risk)
        problems.append(
            (
                ("approvals", "final_decision"),
                f"'approve' on timeout is not allowed while a step is high_risk ({named}); use 'deny'",
            )
        )

    if policy.keys.emergency_rotation_requires_approval:
        for name, playbook in defined.items():
            for index, step in enumerate(playbook.steps):
                if (
                    step.action is ActionKind.ROTATE_KEY_EMERGENCY
                    and step.effective_approval is ApprovalRequirement.AUTOMATIC
                ):
                    problems.append(
                        (
                            ("playbooks", name, "steps", index, "approval"),
                            "'automatic' conflicts with keys.emergency_rotation_requires_approval: true",
                        )
                    )

    approvals = policy.approvals
    if approvals.reminder_interval >= approvals.timeout:
        problems.append(
            (
                ("approvals", "reminder_interval"),
                f"{format_duration(approvals.reminder_interval)} is not shorter than approvals.timeout "
                f"({format_duration(approvals.timeout)}); no reminder would ever be sent",
            )
        )
    waits = sum((level.wait for level in approvals.escalation[:-1]), timedelta(0))
    if approvals.escalation and waits >= approvals.timeout:
        problems.append(
            (
                ("approvals", "escalation"),
                f"the levels before the last wait {format_duration(waits)} in total, not less than "
                f"approvals.timeout ({format_duration(approvals.timeout)}); the last level would never be asked",
            )
        )

    keys = policy.keys
    if keys.validity_period_days > keys.max_age_days:
        problems.append(
            (
                ("keys", "validity_period_days"),
                f"{keys.validity_period_days} is longer than keys.max_age_days ({keys.max_age_days}); "
                "a freshly rotated key would be flagged as too old before its secret expires",
            )
        )
    if keys.grace_period >= timedelta(days=keys.validity_period_days):
        problems.append(
            (
                ("keys", "grace_period"),
                f"{format_duration(keys.grace_period)} is not shorter than keys.validity_period_days "
                f"({keys.validity_period_days}d)",
            )
        )

    for detector in ("token_spike", "request_spike"):
        spike: SpikeDetector = getattr(policy.anomalies, detector)
        if spike.step >= spike.baseline:
            problems.append(
                (
                    ("anomalies", detector, "step"),
                    f"{format_duration(spike.step)} is not shorter than the baseline "
                    f"({format_duration(spike.baseline)})",
                )
            )

    if not (policy.notifications.event_grid or policy.notifications.teams):
        problems.append(
            (
                ("notifications",),
                "every channel is off; owners and approvers could never be reached (turn on event_grid or teams)",
            )
        )
    return problems


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``policy.yaml``, for editors and CI.

    It checks structure and field types; the cross-field rules (defined playbooks, approval on
    timeout vs high-risk steps, ...) need ``warden policy validate``.
    """
    schema = _tidy(Policy.model_json_schema(mode="validation"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": POLICY_SCHEMA_ID,
        **schema,
    }


def _tidy(node: Any) -> Any:
    """Fold the line breaks of docstring descriptions into single spaces, and show duration
    defaults in the short form users write (``4h``, not pydantic's ``PT4H``)."""
    if isinstance(node, dict):
        tidy = {
            key: " ".join(value.split()) if key == "description" and isinstance(value, str) else _tidy(value)
            for key, value in node.items()
        }
        if tidy.get("pattern") == DURATION_PATTERN and isinstance(tidy.get("default"), str):
            tidy["default"] = format_duration(parse_duration(tidy["default"]))
        return tidy
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    return node
