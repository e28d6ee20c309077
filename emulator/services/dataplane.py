"""An account's data plane, only as far as Warden's key probe needs it.

``GET https://{customSubDomain}.openai.azure.com/openai/models`` (or the same on
``.cognitiveservices.azure.com``) with an ``api-key`` header answers 200 with a models list
when the key is the account's current key1 or key2, and 401 otherwise; 401 for any key when
the account has ``disableLocalAuth: true``. A Bearer token (Entra ID) is accepted either way.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import HttpError, Request, Response, json_response
from emulator.state import Account

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["DataPlaneService"]

_BASE_MODELS = ("gpt-4o", "gpt-4o-mini", "text-embedding-3-large", "text-embedding-3-small")


class DataPlaneService:
    """Routes and handlers for ``*.openai.azure.com`` / ``*.cognitiveservices.azure.com``."""

    name = "dataplane"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, req: Request) -> Route:
        if req.path.rstrip("/").lower() != "/openai/models":
            raise HttpError(404, "404", "Resource not found")
        if req.method != "GET":
            raise HttpError(405, "405", "Method not allowed")
        return Route("dataplane.probe", self._models)

    def _account(self, req: Request) -> Account:
        account = self.emu.state.by_subdomain.get(req.host.split(".", 1)[0])
        if account is None:
            raise HttpError(404, "404", "Resource not found")
        return account

    def authenticate(self, req: Request, route: Route) -> None:
        account = self._account(req)
        if req.bearer() is not None:
            return
        key = req.headers.get("api-key")
        if key is None:
            raise HttpError(
                401,
                "401",
                "Access denied due to missing subscription key. Make sure to include subscription key "
                "when making requests to an API.",
            )
        if account.properties.get("disableLocalAuth") is True:
            raise HttpError(
                401, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource."
            )
        if not any(hmac.compare_digest(key.encode(), v.encode()) for v in account.keys.values()):
            raise HttpError(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                "a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            )

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "429",
                rule.message or "Requests have exceeded the rate limit (injected fault).",
                headers={"Retry-After": _seconds(rule.retry_after)},
            )
        return HttpError(rule.status, rule.code or str(rule.status), rule.message or "Injected fault.")

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        response.headers.setdefault("apim-request-id", self.emu.new_id())

    def _models(self, req: Request, call: Call) -> Response:
        account = self._account(req)
        names = list(_BASE_MODELS)
        for dep in account.deployments.values():
            model = str(dep.model.get("name") or "")
            if model and model not in names:
                names.append(model)
        data = [
            {
                "id": name,
                "object": "model",
                "status": "succeeded",
                "lifecycle_status": "generally-available",
                "created_at": 1_700_000_000,
                "capabilities": {
                    "chat_completion": not name.startswith("text-embedding"),
                    "embeddings": name.startswith("text-embedding"),
                },
            }
            for name in names
        ]
        return json_response(200, {"data": data, "object": "list"})


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
