"""The emulator's in-memory tenant: accounts, deployments, vaults, workspaces, topics, operations.

``TenantState.from_spec`` builds it from a validated ``TenantSpec``. All lookups are
case-insensitive, as in Azure. The state is not thread-safe on its own: ``Emulator`` guards it
with one lock.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import random
import secrets as _secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator import ledger
from emulator.tenant import TenantSpec, account_arm_id, topic_host

__all__ = [
    "Account",
    "Deployment",
    "Operation",
    "PublishedEvent",
    "SecretVersion",
    "TenantState",
    "Topic",
    "Vault",
    "Workspace",
    "fingerprint",
]


_ETAGS = itertools.count(1)


def fingerprint(value: str) -> str:
    """A short, non-reversible fingerprint of a secret value, safe to show and log."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


@dataclass(slots=True)
class Deployment:
    name: str
    model: dict[str, Any]
    sku: dict[str, Any]
    rai_policy_name: str | None = None
    version_upgrade_option: str | None = None
    provisioning_state: str = "Succeeded"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    busy: str | None = None
    """Id of the operation in progress on this deployment."""


@dataclass(slots=True)
class Account:
    subscription_id: str
    resource_group: str
    name: str
    kind: str
    location: str
    sku: dict[str, Any]
    tags: dict[str, str]
    properties: dict[str, Any]
    keys: dict[str, str]
    deployments: dict[str, Deployment] = field(default_factory=dict)
    rai_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    provisioning_state: str = "Succeeded"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    etag: str = field(default_factory=lambda: f'"{next(_ETAGS):08x}-0000-4000-8000-000000000000"')
    busy: str | None = None
    diagnostic_settings: list[dict[str, Any]] = field(default_factory=list)
    """``Microsoft.Insights/diagnosticSettings`` resources on the account, in wire form."""

    @property
    def id(self) -> str:
        return account_arm_id(self.subscription_id, self.resource_group, self.name)

    @property
    def subdomain(self) -> str:
        return str(self.properties.get("customSubDomainName") or self.name).lower()


@dataclass(slots=True)
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str]
    enabled: bool
    exp: int | None
    nbf: int | None
    created: int
    updated: int


@dataclass(slots=True)
class Vault:
    name: str
    subscription_id: str
    resource_group: str
    location: str
    secrets: dict[str, tuple[str, list[SecretVersion]]] = field(default_factory=dict)
    """lowercase name -> (name as first written, versions oldest first)."""

    @property
    def host(self) -> str:
        return f"{self.name.lower()}.vault.azure.net"


@dataclass(slots=True)
class Workspace:
    name: str
    customer_id: str
    subscription_id: str
    resource_group: str
    location: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.OperationalInsights/workspaces/{self.name}"
        )


@dataclass(slots=True)
class PublishedEvent:
    topic: str
    host: str
    schema: str
    auth: str
    received: datetime
    event: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "host": self.host,
            "schema": self.schema,
            "auth": self.auth,
            "received": self.received.isoformat(),
            "event": self.event,
        }


@dataclass(slots=True)
class Topic:
    name: str
    host: str
    key: str
    subscription_id: str
    resource_group: str
    location: str
    events: list[PublishedEvent] = field(default_factory=list)

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.EventGrid/topics/{self.name}"
        )


@dataclass(slots=True)
class Operation:
    """A long-running ARM operation, advanced by polls (not by wall-clock time)."""

    id: str
    api: str
    subscription_id: str
    location: str
    resource_url: str
    polls_left: int
    on_success: Callable[[], None]
    on_failure: Callable[[], None]
    fail_with: dict[str, str] | None = None
    status: str = "InProgress"
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    result_status: int = 200
    """HTTP status the Location URL answers once the operation succeeded (204 for deletes)."""

    def finish(self, now: datetime) -> None:
        if self.status != "InProgress":
            return
        self.ended = now
        if self.fail_with is None:
            self.status = "Succeeded"
            self.on_success()
        else:
            self.status = "Failed"
            self.on_failure()

    def advance(self, now: datetime) -> None:
        """One poll: decrement the remaining polls, or finish when none remain."""
        if self.status != "InProgress":
            return
        if self.polls_left > 0:
            self.polls_left -= 1
            return
        self.finish(now)


@dataclass(slots=True)
class Subscription:
    id: str
    name: str
    resource_groups: dict[str, str]
    """lowercase name -> name as written."""
    activity_log_workspace: str | None = None
    pricings: dict[str, str] = field(default_factory=dict)
    """Defender for Cloud plans (``Microsoft.Security/pricings``): plan name -> pricing tier."""


class TenantState:
    """Everything the emulator knows, indexed for case-insensitive lookups."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.subscriptions: dict[str, Subscription] = {}
        self.accounts: dict[str, dict[tuple[str, str], Account]] = {}
        """subscription -> (rg lower, name lower) -> account, in insertion order."""
        self.by_subdomain: dict[str, Account] = {}
        self.vaults: dict[str, Vault] = {}
        """host -> vault."""
        self.workspaces: dict[str, Workspace] = {}
        """customer GUID (lowercase) -> workspace."""
        self.topics: dict[str, Topic] = {}
        """host -> topic."""
        self.operations: dict[str, Operation] = {}

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: TenantSpec, *, rng: random.Random | None = None) -> TenantState:
        """Build the state; keys not pinned in ``spec`` are drawn from ``rng`` (or ``secrets``)."""

        # Secret versions come from their own stream: drawn from the key stream, a version id of
        # one seeded tenant could equal an account key of another (same seed, other draw order).
        version_rng = random.Random(f"versions-{rng.getrandbits(64)}") if rng is not None else None  # nosec B311 # simulated ids, not security

        def new_key() -> str:
            key = f"{rng.getrandbits(128):032x}" if rng is not None else _secrets.token_hex(16)
            ledger.record(key)
            return key

        state = cls(spec.tenant_id.lower())
        now = datetime.now(UTC)
        pending_secrets: list[tuple[Vault, Any]] = []
        for sub in spec.subscriptions:
            sub_id = sub.id.lower()
            state.subscriptions[sub_id] = Subscription(
                sub_id,
                sub.name,
                {rg.name.lower(): rg.name for rg in sub.resource_groups},
                sub.activity_log_workspace,
                dict(sub.defender_plans),
            )
            accounts = state.accounts.setdefault(sub_id, {})
            for rg in sub.resource_groups:
                for spec_account in rg.accounts:
                    account = _account_from_spec(sub_id, rg.name, rg.location, spec_account, new_key)
                    accounts[(rg.name.lower(), spec_account.name.lower())] = account
                    state.by_subdomain[account.subdomain] = account
                for spec_vault in rg.vaults:
                    vault = Vault(spec_vault.name, sub_id, rg.name, spec_vault.location or rg.location)
                    state.vaults[vault.host] = vault
                    pending_secrets.extend((vault, s) for s in spec_vault.secrets)
                for spec_ws in rg.workspaces:
                    ws = Workspace(
                        spec_ws.name,
                        spec_ws.customer_id.lower(),
                        sub_id,
                        rg.name,
                        spec_ws.location or rg.location,
                        {table: [dict(row) for row in rows] for table, rows in spec_ws.tables.items()},
                    )
                    state.workspaces[ws.customer_id] = ws
                for spec_topic in rg.topics:
                    host = topic_host(spec_topic, rg.location)
                    state.topics[host] = Topic(
                        spec_topic.name,
                        host,
                        _recorded(spec_topic.key or _secrets.token_urlsafe(32)),
                        sub_id,
                        rg.name,
                        spec_topic.location or rg.location,
                    )
        stamp = int(now.timestamp())
        for vault, spec_secret in pending_secrets:
            if spec_secret.value_from is not None:
                source = state.account_by_id(spec_secret.value_from.account)
                if source is None:  # pragma: no cover - TenantSpec checks the reference
                    raise ValueError(f"secret {spec_secret.name!r}: unknown account in value_from")
                value = source.keys[spec_secret.value_from.key]
            else:
                value = spec_secret.value
            version = SecretVersion(
                version=uuid.UUID(int=version_rng.getrandbits(128)).hex if version_rng else uuid.uuid4().hex,
                value=value,
                content_type=spec_secret.content_type,
                tags=dict(spec_secret.tags),
                enabled=spec_secret.enabled,
                exp=int(spec_secret.expires.timestamp()) if spec_secret.expires else None,
                nbf=int(spec_secret.not_before.timestamp()) if spec_secret.not_before else None,
                created=stamp,
                updated=stamp,
            )
            vault.secrets[spec_secret.name.lower()] = (spec_secret.name, [version])
        return state

    # -- lookups ------------------------------------------------------------------------------
    def account(self, subscription: str, resource_group: str, name: str) -> Account | None:
        return self.accounts.get(subscription.lower(), {}).get((resource_group.lower(), name.lower()))

    def account_by_id(self, arm_id: str) -> Account | None:
        parts = arm_id.strip("/").split("/")
        if len(parts) != 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
            return None
        return self.account(parts[1], parts[3], parts[7])

    def all_accounts(self) -> list[Account]:
        return [a for accounts in self.accounts.values() for a in accounts.values()]

    def workspace(self, ref: str) -> Workspace | None:
        """A workspace by customer GUID, ARM name, or ARM id (case-insensitive)."""
        key = ref.lower().rstrip("/")
        if key in self.workspaces:
            return self.workspaces[key]
        for ws in self.workspaces.values():
            if ws.name.lower() == key or ws.id.lower() == key:
                return ws
        return None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of the state. Key and secret values appear only as fingerprints."""
        subs: list[dict[str, Any]] = []
        for sub in self.subscriptions.values():
            accounts = []
            for account in self.accounts.get(sub.id, {}).values():
                accounts.append(
                    {
                        "id": account.id,
                        "kind": account.kind,
                        "location": account.location,
                        "sku": account.sku,
                        "tags": account.tags,
                        "provisioningState": account.provisioning_state,
                        "properties": copy.deepcopy(account.properties),
                        "keys": {slot: fingerprint(v) for slot, v in account.keys.items()},
                        "deployments": {
                            d.name: {
                                "model": d.model,
                                "sku": d.sku,
                                "raiPolicyName": d.rai_policy_name,
                                "provisioningState": d.provisioning_state,
                            }
                            for d in account.deployments.values()
                        },
                        "raiPolicies": sorted(p["name"] for p in account.rai_policies.values()),
                    }
                )
            subs.append(
                {
                    "id": sub.id,
                    "name": sub.name,
                    "resourceGroups": sorted(sub.resource_groups.values()),
                    "accounts": accounts,
                }
            )
        return {
            "tenantId": self.tenant_id,
            "subscriptions": subs,
            "vaults": {
                vault.name: {
                    name: [
                        {
                            "version": v.version,
                            "value": fingerprint(v.value),
                            "enabled": v.enabled,
                            "tags": v.tags,
                            "exp": v.exp,
                            "created": v.created,
                        }
                        for v in versions
                    ]
                    for name, versions in vault.secrets.values()
                }
                for vault in self.vaults.values()
            },
            "workspaces": {
                ws.name: {
                    "customerId": ws.customer_id,
                    "tables": {t: len(rows) for t, rows in ws.tables.items()},
                }
                for ws in self.workspaces.values()
            },
            "topics": {
                t.name: {"host": t.host, "events": len(t.events), "key": fingerprint(t.key)}
                for t in self.topics.values()
            },
            "operations": {
                op.id: {"api": op.api, "status": op.status, "resource": op.resource_url}
                for op in self.operations.values()
            },
        }


def _account_from_spec(sub_id: str, rg_name: str, rg_location: str, spec: Any, new_key: Callable[[], str]) -> Account:
    subdomain = spec.custom_sub_domain_name or spec.name
    domain = "openai.azure.com" if spec.kind == "OpenAI" else "cognitiveservices.azure.com"
    properties: dict[str, Any] = {
        "endpoint": spec.endpoint or f"https://{subdomain.lower()}.{domain}/",
        "customSubDomainName": subdomain,
        "publicNetworkAccess": spec.public_network_access,
    }
    if spec.public_network_access is None:
        del properties["publicNetworkAccess"]
    if spec.disable_local_auth is not None:
        properties["disableLocalAuth"] = spec.disable_local_auth
    if spec.network_acls is not None:
        acls: dict[str, Any] = {
            "defaultAction": spec.network_acls.default_action,
            "ipRules": [{"value": ip} for ip in spec.network_acls.ip_rules],
            "virtualNetworkRules": [
                {"id": vnet, "state": "Succeeded", "ignoreMissingVnetServiceEndpoint": False}
                for vnet in spec.network_acls.virtual_network_rules
            ],
        }
        if spec.network_acls.bypass is not None:
            acls["bypass"] = spec.network_acls.bypass
        properties["networkAcls"] = acls
    keys = {"key1": spec.keys.key1, "key2": spec.keys.key2} if spec.keys else {"key1": new_key(), "key2": new_key()}
    account = Account(
        subscription_id=sub_id,
        resource_group=rg_name,
        name=spec.name,
        kind=spec.kind,
        location=spec.location or rg_location,
        sku={"name": spec.sku},
        tags=dict(spec.tags),
        properties=properties,
        keys=keys,
    )
    for dep in spec.deployments:
        sku: dict[str, Any] = {"name": dep.sku.name}
        if dep.sku.capacity is not None:
            sku["capacity"] = dep.sku.capacity
        account.deployments[dep.name.lower()] = Deployment(
            name=dep.name,
            model={"format": dep.model.format, "name": dep.model.name, "version": dep.model.version},
            sku=sku,
            rai_policy_name=dep.rai_policy_name,
            version_upgrade_option=dep.version_upgrade_option,
        )
    for setting in spec.diagnostic_settings:
        account.diagnostic_settings.append(_diagnostic_setting(account, setting))
    for policy in spec.rai_policies:
        account.rai_policies[policy.name.lower()] = {
            "name": policy.name,
            "properties": {
                "type": "UserManaged",
                "mode": policy.mode,
                "basePolicyName": policy.base_policy_name,
                "contentFilters": [
                    {
                        "name": f.name,
                        "enabled": f.enabled,
                        "blocking": f.blocking,
                        "severityThreshold": f.severity_threshold,
                        "source": f.source,
                    }
                    for f in policy.content_filters
                ],
            },
        }
    return account


def _diagnostic_setting(account: Account, spec: Any) -> dict[str, Any]:
    """A diagnostic setting in the wire form of ``Microsoft.Insights/diagnosticSettings``
    (api-version 2021-05-01-preview)."""
    return {
        "id": f"{account.id}/providers/microsoft.insights/diagnosticSettings/{spec.name}",
        "name": spec.name,
        "type": "Microsoft.Insights/diagnosticSettings",
        "properties": {
            "workspaceId": spec.workspace,
            "storageAccountId": spec.storage_account,
            "eventHubAuthorizationRuleId": spec.event_hub_authorization_rule,
            "logs": [{"categoryGroup": group, "enabled": True} for group in spec.log_category_groups],
            "metrics": [{"category": "AllMetrics", "enabled": bool(spec.metrics)}],
        },
    }


def _recorded(value: str) -> str:
    ledger.record(value)
    return value
