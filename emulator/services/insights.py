"""ARM extension resources Warden reads for posture: diagnostic settings and Defender plans.

* ``GET {account}/providers/Microsoft.Insights/diagnosticSettings`` (``arm.diagnosticSettings.list``)
  answers ``{"value": [...]}``, the shape of the Monitor REST API "Diagnostic Settings - List"
  (api-version 2021-05-01-preview): each item has ``id``, ``name``, ``type`` and
  ``properties`` with ``workspaceId`` / ``storageAccountId`` / ``eventHubAuthorizationRuleId``,
  ``logs[{category|categoryGroup, enabled}]`` and ``metrics[{category, enabled}]``. An account
  that does not exist is 404 ``ResourceNotFound``.
* ``GET /subscriptions/{s}/providers/Microsoft.Security/pricings/{plan}`` (``arm.pricings.get``)
  and ``GET .../pricings`` (``arm.pricings.list``): Defender for Cloud plans ("Pricings - Get /
  List", api-version 2024-01-01): ``{"id", "name", "type": "Microsoft.Security/pricings",
  "properties": {"pricingTier": "Free"|"Standard"}}``. A plan the tenant file does not list is
  404 (what Warden must treat as "the API does not show this plan").

Both count against the subscription's ARM read bucket, like every ARM read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.core import Route
from emulator.http import HttpError, Request, Response, json_response
from emulator.services.arm import ArmService

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["InsightsService", "is_insights_request"]


def is_insights_request(req: Request) -> bool:
    """Whether a management.azure.com request is for diagnostic settings or Defender pricings."""
    low = req.path.lower()
    return "/providers/microsoft.insights/diagnosticsettings" in low or "/providers/microsoft.security/pricings" in low


class InsightsService(ArmService):
    """Diagnostic settings of accounts and Defender plans of subscriptions (ARM auth and buckets)."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)

    def route(self, req: Request) -> Route:
        seg = [s for s in req.path.split("/") if s]
        low = [s.lower() for s in seg]
        if len(seg) < 2 or low[0] != "subscriptions":
            raise HttpError(404, "NotFound", f"No route for {req.method} {req.path} in the emulator.")
        sub = seg[1].lower()
        self._allow(req, "GET")
        # /subscriptions/{s}/providers/Microsoft.Security/pricings[/{plan}]
        if len(seg) in (5, 6) and low[2] == "providers" and low[3] == "microsoft.security" and low[4] == "pricings":
            if len(seg) == 5:
                return Route(
                    "arm.pricings.list", lambda q, c: self._list_pricings(sub), subscription=sub, arm_kind="reads"
                )
            plan = seg[5]
            return Route(
                "arm.pricings.get", lambda q, c: self._get_pricing(sub, plan), subscription=sub, arm_kind="reads"
            )
        # {account}/providers/Microsoft.Insights/diagnosticSettings
        if (
            len(seg) == 11
            and low[2] == "resourcegroups"
            and low[4] == "providers"
            and low[5] == "microsoft.cognitiveservices"
            and low[6] == "accounts"
            and low[8:] == ["providers", "microsoft.insights", "diagnosticsettings"]
        ):
            rg, name = seg[3], seg[7]
            return Route(
                "arm.diagnosticSettings.list",
                lambda q, c: self._list_settings(sub, rg, name),
                subscription=sub,
                arm_kind="reads",
            )
        raise HttpError(400, "NotEmulated", f"The emulator does not emulate {req.method} {req.path}.")

    def _list_settings(self, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        return json_response(200, {"value": [dict(s) for s in account.diagnostic_settings]})

    def _pricing(self, sub: str, plan: str, tier: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{plan}",
            "name": plan,
            "type": "Microsoft.Security/pricings",
            "properties": {"pricingTier": tier},
        }

    def _subscription(self, sub: str) -> dict[str, str]:
        found = self.emu.state.subscriptions.get(sub)
        if found is None:
            raise HttpError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return found.pricings

    def _list_pricings(self, sub: str) -> Response:
        plans = self._subscription(sub)
        return json_response(200, {"value": [self._pricing(sub, name, tier) for name, tier in plans.items()]})

    def _get_pricing(self, sub: str, plan: str) -> Response:
        plans = self._subscription(sub)
        for name, tier in plans.items():
            if name.lower() == plan.lower():
                return json_response(200, self._pricing(sub, name, tier))
        raise HttpError(404, "NotFound", f"Pricing '{plan}' was not found for subscription '{sub}'.")
