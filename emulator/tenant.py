"""The declarative tenant file that seeds the emulator, and a generator for large tenants.

A tenant file is YAML (or JSON) shaped like this (every key is optional unless noted)::

    tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
    principals: {warden-emulator-token: 0b7e3f52-...}   # token -> Caller in AzureActivity rows
    subscriptions:
      - id: 00000000-0000-0000-0000-000000000001          # required
        name: Contoso Production
        activity_log_workspace: law-contoso-sec           # ARM writes add AzureActivity rows here
        defender_plans: {AI: Standard}                    # Microsoft.Security/pricings (unlisted: 404)
        resource_groups:
          - name: rg-ai-prod                              # required
            location: eastus
            accounts:
              - name: contoso-openai-eus                  # required
                kind: OpenAI                              # OpenAI | AIServices | any Cognitive Services kind
                location: eastus
                sku: S0
                tags: {owner: ai-platform}
                disable_local_auth: false                 # omitted = never set (null in ARM)
                public_network_access: Enabled
                network_acls: {default_action: Deny, bypass: AzureServices, ip_rules: [203.0.113.7]}
                custom_sub_domain_name: contoso-openai-eus  # default: the account name
                keys: {key1: ..., key2: ...}              # default: random 32 hex characters each
                deployments:
                  - name: gpt-4o
                    model: {name: gpt-4o, version: "2024-11-20", format: OpenAI}
                    sku: {name: GlobalStandard, capacity: 50}
                    rai_policy_name: contoso-strict
                diagnostic_settings:                      # Microsoft.Insights/diagnosticSettings
                  - {name: to-sec, workspace: /subscriptions/.../workspaces/law-contoso-sec}
                rai_policies:
                  - name: contoso-strict
                    base_policy_name: Microsoft.DefaultV2
                    content_filters: [{name: Hate, severity_threshold: Low, source: Prompt}]
            vaults:
              - name: kv-contoso-ai
                secrets:
                  - name: contoso-openai-eus-key
                    value_from: {account: /subscriptions/.../accounts/contoso-openai-eus, key: key1}
                    tags: {CredentialId: key1, ProviderAddress: /subscriptions/..., ValidityPeriodDays: "60"}
                    expires: 2027-01-01T00:00:00Z
            workspaces:
              - name: law-contoso-sec
                customer_id: 11111111-2222-3333-4444-555555555555
                tables:
                  SecurityAlert: [{TimeGenerated: 2026-11-20T10:00:00Z, AlertType: AI.Azure_Jailbreak..., ...}]
            topics:
              - name: warden-notifications
                location: eastus
                key: optional-pinned-key

``load_tenant(path)`` and ``parse_tenant(data)`` validate the whole file with pydantic and raise
``TenantError`` listing every problem with the path of the bad field
(``subscriptions[0].resource_groups[1].accounts[0].kind: ...``). ``generate_tenant`` builds a
large synthetic tenant for benchmarks.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from emulator.tables import LOG_TABLES, coerce_row

__all__ = [
    "AccountSpec",
    "DeploymentSpec",
    "DiagnosticSettingSpec",
    "ResourceGroupSpec",
    "SecretSpec",
    "SubscriptionSpec",
    "TenantError",
    "TenantSpec",
    "TopicSpec",
    "VaultSpec",
    "WorkspaceSpec",
    "generate_tenant",
    "load_tenant",
    "parse_tenant",
]

DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-00000000c0de"

_RG_RE = r"^[-\w._()]{1,90}$"
_ACCOUNT_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$"
_DEPLOYMENT_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_VAULT_RE = r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$"
_SECRET_RE = r"^[0-9A-Za-z-]{1,127}$"  # noqa: S105 - a name pattern, not a secret  # nosec B105 # an identifier, not a secret
_WORKSPACE_RE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$"
_SUBDOMAIN_RE = r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$"
_HOST_RE = r"^[a-z0-9][a-z0-9.-]{1,252}$"
_LOCATION_RE = r"^[a-z0-9]{2,40}$"
_KEY_RE = re.compile(r"^[A-Za-z0-9+/=._-]{16,128}$")


class TenantError(ValueError):
    """A tenant file is unreadable or invalid; ``problems`` has one ``path: message`` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid tenant {source}:\n  - " + "\n  - ".join(problems))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_guid(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError("expected a GUID like 00000000-0000-0000-0000-000000000000") from None
    if len(value) != 36:
        raise ValueError("expected a GUID in the 8-4-4-4-12 form")
    return str(parsed)


class SkuSpec(_Spec):
    """A deployment SKU (``Standard``, ``GlobalStandard``, ``ProvisionedManaged`` ...) and capacity."""

    name: str = Field(default="Standard", min_length=1)
    capacity: int | None = Field(default=None, ge=0)


class ModelSpec(_Spec):
    """The model a deployment serves."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    format: str = Field(default="OpenAI", min_length=1)


class DeploymentSpec(_Spec):
    """One model deployment of an account."""

    name: str = Field(pattern=_DEPLOYMENT_RE)
    model: ModelSpec
    sku: SkuSpec = Field(default_factory=SkuSpec)
    rai_policy_name: str | None = None
    version_upgrade_option: str | None = None


class ContentFilterSpec(_Spec):
    """One content filter of a RAI policy."""

    name: str = Field(min_length=1)
    enabled: bool = True
    blocking: bool = True
    severity_threshold: Literal["Low", "Medium", "High"] | None = "Medium"
    source: Literal["Prompt", "Completion"]


class RaiPolicySpec(_Spec):
    """A custom content-filtering (RAI) policy of an account."""

    name: str = Field(min_length=1, max_length=64)
    mode: str = "Blocking"
    base_policy_name: str = "Microsoft.DefaultV2"
    content_filters: list[ContentFilterSpec] = Field(default_factory=list)


class NetworkAclsSpec(_Spec):
    """An account's network rule set."""

    default_action: Literal["Allow", "Deny"] = "Allow"
    bypass: Literal["None", "AzureServices"] | None = None
    ip_rules: list[str] = Field(default_factory=list)
    virtual_network_rules: list[str] = Field(default_factory=list)


class AccountKeysSpec(_Spec):
    """Pinned account keys (otherwise generated at load)."""

    key1: str
    key2: str

    @field_validator("key1", "key2")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not _KEY_RE.match(value):
            raise ValueError("expected 16-128 characters of letters, digits or +/=._-")
        return value


class DiagnosticSettingSpec(_Spec):
    """A ``Microsoft.Insights/diagnosticSettings`` resource on an account (where its logs go)."""

    name: str = Field(min_length=1, max_length=260)
    workspace: str | None = Field(default=None, description="ARM id of the destination Log Analytics workspace")
    storage_account: str | None = None
    event_hub_authorization_rule: str | None = None
    log_category_groups: list[str] = Field(default_factory=lambda: ["allLogs"])
    metrics: bool = True


class AccountSpec(_Spec):
    """A Cognitive Services account (Azure OpenAI / AI Services)."""

    name: str = Field(pattern=_ACCOUNT_RE)
    kind: str = Field(default="OpenAI", pattern=r"^[A-Za-z][A-Za-z0-9.]{1,63}$")
    location: str | None = Field(default=None, pattern=_LOCATION_RE)
    sku: str = Field(default="S0", min_length=1)
    tags: dict[str, str] = Field(default_factory=dict)
    disable_local_auth: bool | None = None
    public_network_access: Literal["Enabled", "Disabled"] | None = "Enabled"
    network_acls: NetworkAclsSpec | None = None
    custom_sub_domain_name: str | None = Field(default=None, pattern=_SUBDOMAIN_RE)
    endpoint: str | None = None
    keys: AccountKeysSpec | None = None
    deployments: list[DeploymentSpec] = Field(default_factory=list)
    rai_policies: list[RaiPolicySpec] = Field(default_factory=list)
    diagnostic_settings: list[DiagnosticSettingSpec] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _stringify_tags(cls, value: Any) -> Any:
        return _stringify(value)

    @model_validator(mode="after")
    def _check_children(self) -> AccountSpec:
        _unique([d.name for d in self.deployments], "deployment")
        _unique([p.name for p in self.rai_policies], "RAI policy")
        return self


class SecretValueFromSpec(_Spec):
    """Take a secret's value from an account key at load time."""

    account: str = Field(min_length=1, description="ARM id of an account in this tenant")
    key: Literal["key1", "key2"]


class SecretSpec(_Spec):
    """A Key Vault secret (its initial, single version)."""

    name: str = Field(pattern=_SECRET_RE)
    value: str | None = None
    value_from: SecretValueFromSpec | None = None
    content_type: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    expires: datetime | None = None
    not_before: datetime | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _stringify_tags(cls, value: Any) -> Any:
        return _stringify(value)

    @model_validator(mode="after")
    def _one_value(self) -> SecretSpec:
        if (self.value is None) == (self.value_from is None):
            raise ValueError("give exactly one of 'value' and 'value_from'")
        return self


class VaultSpec(_Spec):
    """A Key Vault (``https://{name}.vault.azure.net``)."""

    name: str = Field(pattern=_VAULT_RE)
    location: str | None = Field(default=None, pattern=_LOCATION_RE)
    secrets: list[SecretSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_children(self) -> VaultSpec:
        _unique([s.name for s in self.secrets], "secret")
        return self


class WorkspaceSpec(_Spec):
    """A Log Analytics workspace: ARM name, customer (workspace) GUID, and seeded table rows."""

    name: str = Field(pattern=_WORKSPACE_RE)
    customer_id: str
    location: str | None = Field(default=None, pattern=_LOCATION_RE)
    tables: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    @field_validator("customer_id")
    @classmethod
    def _check_customer_id(cls, value: str) -> str:
        return _check_guid(value)

    @field_validator("tables")
    @classmethod
    def _check_tables(cls, value: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for table, rows in value.items():
            if table not in LOG_TABLES:
                raise ValueError(f"unknown table {table!r}; expected one of {', '.join(LOG_TABLES)}")
            coerced = []
            for index, row in enumerate(rows):
                try:
                    coerced.append(coerce_row(table, row))
                except ValueError as exc:
                    raise ValueError(f"{table}[{index}]: {exc}") from None
            out[table] = coerced
        return out


class TopicSpec(_Spec):
    """An Event Grid custom topic (basic tier), published to at ``https://{host}/api/events``."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{3,50}$")
    location: str | None = Field(default=None, pattern=_LOCATION_RE)
    host: str | None = Field(default=None, pattern=_HOST_RE)
    key: str | None = None

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        if value is not None and not _KEY_RE.match(value):
            raise ValueError("expected 16-128 characters of letters, digits or +/=._-")
        return value


class ResourceGroupSpec(_Spec):
    """A resource group and the resources in it."""

    name: str = Field(pattern=_RG_RE)
    location: str = Field(default="eastus", pattern=_LOCATION_RE)
    accounts: list[AccountSpec] = Field(default_factory=list)
    vaults: list[VaultSpec] = Field(default_factory=list)
    workspaces: list[WorkspaceSpec] = Field(default_factory=list)
    topics: list[TopicSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_children(self) -> ResourceGroupSpec:
        _unique([a.name for a in self.accounts], "account")
        return self


class SubscriptionSpec(_Spec):
    """A subscription and its resource groups."""

    id: str
    name: str = "Subscription"
    activity_log_workspace: str | None = Field(
        default=None,
        description="Name or customer GUID of a workspace in this tenant that receives this "
        "subscription's Activity Log (AzureActivity rows for ARM writes and key actions).",
    )
    resource_groups: list[ResourceGroupSpec] = Field(default_factory=list)
    defender_plans: dict[str, Literal["Free", "Standard"]] = Field(
        default_factory=dict,
        description="Microsoft.Security/pricings of the subscription: plan name (e.g. AI) -> tier. "
        "A plan not listed is answered 404 (the API does not show it).",
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return _check_guid(value)

    @model_validator(mode="after")
    def _check_children(self) -> SubscriptionSpec:
        _unique([rg.name for rg in self.resource_groups], "resource group")
        return self


class TenantSpec(_Spec):
    """A whole emulated tenant."""

    tenant_id: str = DEFAULT_TENANT_ID
    principals: dict[str, str] = Field(
        default_factory=dict,
        description="Bearer token -> principal object id recorded as Caller in AzureActivity rows "
        "(the static development token of shared.azure.clients is warden-emulator-token).",
    )
    subscriptions: list[SubscriptionSpec] = Field(default_factory=list)

    @field_validator("tenant_id")
    @classmethod
    def _check_tenant(cls, value: str) -> str:
        return _check_guid(value)

    @model_validator(mode="after")
    def _check_references(self) -> TenantSpec:
        _unique([s.id for s in self.subscriptions], "subscription")
        subdomains: list[str] = []
        vaults: list[str] = []
        workspace_names: set[str] = set()
        workspace_ids: list[str] = []
        topic_hosts: list[str] = []
        account_ids: set[str] = set()
        for sub in self.subscriptions:
            for rg in sub.resource_groups:
                for account in rg.accounts:
                    subdomains.append((account.custom_sub_domain_name or account.name).lower())
                    account_ids.add(account_arm_id(sub.id, rg.name, account.name).lower())
                vaults.extend(v.name.lower() for v in rg.vaults)
                for ws in rg.workspaces:
                    workspace_names.add(ws.name.lower())
                    workspace_ids.append(ws.customer_id.lower())
                topic_hosts.extend(topic_host(t, rg.location) for t in rg.topics)
        _unique(subdomains, "account custom subdomain", case_insensitive=True)
        _unique(vaults, "vault name (vault names are global)", case_insensitive=True)
        _unique(workspace_ids, "workspace customer_id", case_insensitive=True)
        _unique(topic_hosts, "topic host", case_insensitive=True)
        for sub in self.subscriptions:
            target = sub.activity_log_workspace
            if target and target.lower() not in workspace_names and target.lower() not in workspace_ids:
                raise ValueError(
                    f"subscription {sub.id}: activity_log_workspace {target!r} is not a workspace in this tenant"
                )
            for rg in sub.resource_groups:
                for vault in rg.vaults:
                    for secret in vault.secrets:
                        if secret.value_from and secret.value_from.account.lower() not in account_ids:
                            raise ValueError(
                                f"vault {vault.name!r}, secret {secret.name!r}: value_from.account "
                                f"{secret.value_from.account!r} is not an account in this tenant"
                            )
        return self


def account_arm_id(subscription_id: str, resource_group: str, name: str) -> str:
    """The ARM id of an account."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{name}"
    )


def topic_host(topic: TopicSpec, default_location: str) -> str:
    """The publish host of a topic: its pinned ``host`` or ``{name}.{location}-1.eventgrid.azure.net``."""
    if topic.host:
        return topic.host.lower()
    return f"{topic.name}.{topic.location or default_location}-1.eventgrid.azure.net".lower()


def _stringify(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): (v if isinstance(v, str) else _scalar_text(v)) for k, v in value.items()}
    return value


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _unique(values: list[str], what: str, *, case_insensitive: bool = True) -> None:
    seen: set[str] = set()
    for value in values:
        key = value.lower() if case_insensitive else value
        if key in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(key)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def parse_tenant(data: Any, *, source: str = "<data>") -> TenantSpec:
    """Validate a tenant given as parsed YAML/JSON data.

    Raises ``TenantError`` listing each problem as ``path.to[field]: message``.
    """
    if isinstance(data, TenantSpec):
        return data
    if not isinstance(data, Mapping):
        raise TenantError(source, [f"(root): expected a mapping, got {type(data).__name__}"])
    try:
        return TenantSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            loc = tuple(error.get("loc") or ())
            problems.append(f"{_format_loc(loc)}: {msg}")
        raise TenantError(source, problems) from None


def load_tenant(path: str | Path) -> TenantSpec:
    """Read and validate a tenant file (YAML or JSON).

    Raises ``TenantError`` when the file is missing, is not valid YAML, or fails validation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TenantError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TenantError(str(path), [f"{where}not valid YAML: {problem}"]) from None
    return parse_tenant(data, source=str(path))


# --------------------------------------------------------------------------------------------
# a large synthetic tenant for benchmarks
# --------------------------------------------------------------------------------------------
_LOCATIONS = ("eastus", "eastus2", "westeurope", "swedencentral", "japaneast", "australiaeast")
_MODELS = (
    ("gpt-4o", "2024-11-20", "GlobalStandard"),
    ("gpt-4o-mini", "2024-07-18", "GlobalStandard"),
    ("text-embedding-3-large", "1", "Standard"),
)


def generate_tenant(
    accounts: int = 10_000,
    subscriptions: int = 50,
    *,
    seed: int = 0,
    resource_groups_per_subscription: int = 4,
    deployments_per_account: int = 1,
) -> TenantSpec:
    """A synthetic tenant with ``accounts`` accounts spread over ``subscriptions`` subscriptions.

    Deterministic for a given ``seed``: names, kinds (OpenAI / AIServices, some other kinds
    that Warden must ignore), network settings and tags vary. Keys are not pinned (generated
    at load). Built with ``model_construct`` (no validation), so 10,000 accounts take well
    under a second. Raises ``ValueError`` for non-positive counts.
    """
    if accounts < 0 or subscriptions <= 0 or resource_groups_per_subscription <= 0:
        raise ValueError("accounts must be >= 0; subscriptions and resource groups per subscription > 0")
    rng = random.Random(seed)  # nosec B311 # simulated faults and data, not security
    subs: list[SubscriptionSpec] = []
    groups: list[list[list[AccountSpec]]] = []
    for s in range(subscriptions):
        sub_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        groups.append([[] for _ in range(resource_groups_per_subscription)])
        subs.append(SubscriptionSpec.model_construct(id=sub_id, name=f"bench-sub-{s:03d}", resource_groups=[]))
    for index in range(accounts):
        s = index % subscriptions
        g = (index // subscriptions) % resource_groups_per_subscription
        roll = rng.random()
        kind = "OpenAI" if roll < 0.55 else "AIServices" if roll < 0.9 else "TextAnalytics"
        location = _LOCATIONS[index % len(_LOCATIONS)]
        name = f"bench-ai-{index:05d}"
        deployments = [
            DeploymentSpec.model_construct(
                name=model,
                model=ModelSpec.model_construct(name=model, version=version, format="OpenAI"),
                sku=SkuSpec.model_construct(name=sku, capacity=10),
                rai_policy_name="Microsoft.DefaultV2",
                version_upgrade_option=None,
            )
            for model, version, sku in _MODELS[: deployments_per_account if kind != "TextAnalytics" else 0]
        ]
        acl_roll = rng.random()
        network_acls = (
            None
            if acl_roll < 0.5
            else NetworkAclsSpec.model_construct(
                default_action="Deny",
                bypass="AzureServices",
                ip_rules=[f"203.0.113.{index % 250}"] if acl_roll > 0.8 else [],
                virtual_network_rules=[],
            )
        )
        groups[s][g].append(
            AccountSpec.model_construct(
                name=name,
                kind=kind,
                location=location,
                sku="S0",
                tags={"env": "prod" if rng.random() < 0.3 else "dev", "owner": f"team-{index % 40:02d}"},
                disable_local_auth=None if rng.random() < 0.5 else rng.random() < 0.5,
                public_network_access="Disabled" if rng.random() < 0.2 else "Enabled",
                network_acls=network_acls,
                custom_sub_domain_name=name,
                endpoint=None,
                keys=None,
                deployments=deployments,
                rai_policies=[],
            )
        )
    for s, sub in enumerate(subs):
        sub.resource_groups = [
            ResourceGroupSpec.model_construct(
                name=f"rg-bench-{g:02d}",
                location=_LOCATIONS[g % len(_LOCATIONS)],
                accounts=group,
                vaults=[],
                workspaces=[],
                topics=[],
            )
            for g, group in enumerate(groups[s])
        ]
    return TenantSpec.model_construct(tenant_id=DEFAULT_TENANT_ID, principals={}, subscriptions=subs)
