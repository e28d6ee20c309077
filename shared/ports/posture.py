"""The posture port: diagnostic settings of an account and the Defender for AI plan of a
subscription.

``PosturePort`` is what the posture checks read, with its data and its error; the Azure
implementation is ``shared.azure.posture.AzurePosture`` (plain ARM GETs); unit tests use
``tests.fakes.FakePosture``.

NOT CONFIRMED: the plan name ``AI`` for "Defender for AI services" (no official Pricings
example names it). A plan the API does not show is ``None``: no finding.

Errors: ``PostureError`` (any failure, naming the resource and the permission on 401/403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.resource_ids import AccountId

__all__ = ["DEFENDER_AI_PLAN", "DefenderPlan", "DiagnosticSetting", "PostureError", "PosturePort"]

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


class PosturePort(Protocol):
    """Reads Warden needs for the posture checks."""

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        """The account's diagnostic settings (empty when it has none)."""
        ...

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        """The subscription's Defender plan ``plan``, or ``None`` when the API does not show it."""
        ...
