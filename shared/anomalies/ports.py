"""The posture port: diagnostic settings of an account and the Defender for AI plan of a
subscription, over ARM. ``AzurePosture`` is the real adapter, ``FakePosture`` its in-memory twin.

Neither call has an SDK in Warden's pins (azure-mgmt-monitor / azure-mgmt-security are not
installed), so ``AzurePosture`` sends plain ARM GETs through the Cognitive Services management
client's pipeline (``_send_request``: the same credential, transport, retries and base URL as
every other ARM call; no new client is built):

* ``GET {account}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview``
  (Monitor REST "Diagnostic Settings - List"). Requires
  ``Microsoft.Insights/diagnosticSettings/read`` (Reader includes it). One call per account:
  ARM has no estate-wide listing of diagnostic settings (they are extension resources, not in
  the Resource Graph ``resources`` table; NOT CONFIRMED for every cloud), so the sweep first asks
  Log Analytics which accounts report at all, and calls this only for the silent ones.
* ``GET /subscriptions/{s}/providers/Microsoft.Security/pricings/AI?api-version=2024-01-01``
  (Defender for Cloud REST "Pricings - Get"). Requires ``Microsoft.Security/pricings/read``
  (Security Reader / Reader). NOT CONFIRMED: the plan name ``AI`` for "Defender for AI services"
  (no official Pricings example names it). A 404 means the API does not show the plan: no finding.

Errors: ``PostureError`` (any failure, naming the resource and the permission on 401/403).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shared.resource_ids import AccountId

if TYPE_CHECKING:
    from shared.azure.clients import AzureClients

__all__ = [
    "DEFENDER_AI_PLAN",
    "AzurePosture",
    "DefenderPlan",
    "DiagnosticSetting",
    "FakePosture",
    "PostureError",
    "PosturePort",
    "diagnostic_setting_from_json",
]

DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"
PRICINGS_API = "2024-01-01"
DEFENDER_AI_PLAN = "AI"


class PostureError(RuntimeError):
    """A posture read failed (the message names the resource, and the permission on 401/403)."""


@dataclass(frozen=True, slots=True)
class DiagnosticSetting:
    """One diagnostic setting: its destinations and whether it exports anything."""

    name: str
    workspace_id: str | None = None
    storage_account_id: str | None = None
    event_hub_rule_id: str | None = None
    enabled_logs: tuple[str, ...] = ()
    metrics_enabled: bool = False

    @property
    def exports_anything(self) -> bool:
        has_destination = bool(self.workspace_id or self.storage_account_id or self.event_hub_rule_id)
        return has_destination and (bool(self.enabled_logs) or self.metrics_enabled)


@dataclass(frozen=True, slots=True)
class DefenderPlan:
    """A Defender for Cloud plan of a subscription (``Microsoft.Security/pricings``)."""

    subscription_id: str
    name: str
    pricing_tier: str
    sub_plan: str | None = None

    @property
    def enabled(self) -> bool:
        return self.pricing_tier.lower() == "standard"


def diagnostic_setting_from_json(item: Mapping[str, Any]) -> DiagnosticSetting:
    """One item of the List response; tolerant of missing fields (they mean "not set")."""
    raw_props = item.get("properties")
    props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
    logs = props.get("logs") if isinstance(props.get("logs"), list) else []
    metrics = props.get("metrics") if isinstance(props.get("metrics"), list) else []
    enabled_logs = tuple(
        str(entry.get("category") or entry.get("categoryGroup") or "")
        for entry in logs or []
        if isinstance(entry, Mapping) and entry.get("enabled") is True
    )
    return DiagnosticSetting(
        name=str(item.get("name") or ""),
        workspace_id=str(props["workspaceId"]) if props.get("workspaceId") else None,
        storage_account_id=str(props["storageAccountId"]) if props.get("storageAccountId") else None,
        event_hub_rule_id=str(props["eventHubAuthorizationRuleId"])
        if props.get("eventHubAuthorizationRuleId")
        else None,
        enabled_logs=enabled_logs,
        metrics_enabled=any(isinstance(m, Mapping) and m.get("enabled") is True for m in metrics or []),
    )


class PosturePort(Protocol):
    """Reads Warden needs for the posture checks."""

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        """The account's diagnostic settings (empty when it has none)."""
        ...

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        """The subscription's Defender plan ``plan``, or ``None`` when the API does not show it."""
        ...


class AzurePosture:
    """``PosturePort`` over ARM (plain GETs through the Cognitive Services client's pipeline)."""

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    def _get(self, subscription_id: str, path: str, what: str, permission: str) -> tuple[int, Any]:
        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest

        client = self._clients.cognitive(subscription_id)
        try:
            # `_send_request` is the generated client's documented raw-request entry point
            # (aka.ms/azsdk/dpcodegen/python/send_request), underscored in this SDK version.
            response = client._send_request(HttpRequest("GET", path))
        except AzureError as exc:
            raise PostureError(f"{what}: {type(exc).__name__}: {exc}") from None
        if response.status_code in (401, 403):
            raise PostureError(
                f"{what}: access denied (HTTP {response.status_code}); Warden's identity needs {permission}"
            )
        if response.status_code == 404:
            return 404, None
        if response.status_code != 200:
            raise PostureError(f"{what}: HTTP {response.status_code}")
        try:
            return 200, response.json()
        except ValueError:
            raise PostureError(f"{what}: the response is not JSON") from None

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        path = f"{account}/providers/Microsoft.Insights/diagnosticSettings?api-version={DIAGNOSTIC_SETTINGS_API}"
        status, body = self._get(
            account.subscription_id,
            path,
            f"list diagnostic settings of {account}",
            "Microsoft.Insights/diagnosticSettings/read",
        )
        if status == 404:
            raise PostureError(f"list diagnostic settings of {account}: the account was not found (HTTP 404)")
        items = body.get("value") if isinstance(body, Mapping) else None
        return [diagnostic_setting_from_json(i) for i in items or [] if isinstance(i, Mapping)]

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        path = (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Security/pricings/{plan}?api-version={PRICINGS_API}"
        )
        status, body = self._get(
            subscription_id,
            path,
            f"read Defender plan {plan} of subscription {subscription_id}",
            "Microsoft.Security/pricings/read",
        )
        if status == 404 or not isinstance(body, Mapping):
            return None
        raw_props = body.get("properties")
        props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
        tier = props.get("pricingTier")
        if not isinstance(tier, str) or not tier:
            return None
        sub_plan = props.get("subPlan")
        return DefenderPlan(
            subscription_id.lower(),
            str(body.get("name") or plan),
            tier,
            sub_plan if isinstance(sub_plan, str) else None,
        )


@dataclass
class FakePosture:
    """In-memory ``PosturePort``: settings per account id (lowercase), plans per subscription."""

    settings: dict[str, list[DiagnosticSetting]] = field(default_factory=dict)
    plans: dict[str, DefenderPlan] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        self.calls.append(f"diagnosticSettings:{account}")
        return list(self.settings.get(str(account).lower(), []))

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        self.calls.append(f"pricings:{subscription_id}/{plan}")
        return self.plans.get(subscription_id.lower())
