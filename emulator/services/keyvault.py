"""Key Vault secrets: ``https://{vault}.vault.azure.net/secrets/...`` (any ``api-version``).

* Every request without a Bearer token is answered 401 with
  ``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}",
  resource="https://vault.azure.net"``: azure-keyvault-secrets first sends each request to a new
  host without its body, expecting exactly this challenge, then re-sends it with a token.
* ``PUT /secrets/{name}`` sets a new version; ``GET /secrets/{name}[/{version}]`` reads one
  (403 ``Forbidden`` for a disabled version); ``GET /secrets/{name}/versions`` and
  ``GET /secrets`` list properties, paged with ``nextLink`` (``maxresults``, ``$skiptoken``);
  ``PATCH /secrets/{name}[/{version}]`` updates attributes, tags and content type.
* Ids are ``https://{vault}.vault.azure.net/secrets/{name}/{version}`` (32 hex characters);
  attribute times are Unix seconds. Errors: ``{"error": {"code", "message"}}`` with
  ``SecretNotFound`` (404) for an unknown secret or version, ``ResourceNotFound`` for a vault
  the tenant does not have.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from emulator import ledger
from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import ChallengeError, HttpError, Request, Response, json_response
from emulator.state import SecretVersion, Vault

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["KeyVaultService"]

_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_VERSION_RE = re.compile(r"^[0-9a-fA-F]{32}$")


class KeyVaultService:
    """Routes and handlers for ``*.vault.azure.net``."""

    name = "keyvault"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, req: Request) -> Route:
        seg = [s for s in req.path.split("/")]
        # "/secrets/name/" splits to ["", "secrets", "name", ""]: a trailing slash means "no version".
        parts = seg[1:]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts = parts[:-1]
        if not parts or parts[0].lower() != "secrets":
            raise HttpError(400, "NotEmulated", f"The emulator does not emulate {req.method} {req.path}.")
        method = req.method
        if len(parts) == 1 or (len(parts) == 2 and parts[1] == ""):
            self._allow(req, "GET")
            return Route("keyvault.listSecrets", self._list_secrets)
        name = parts[1]
        if len(parts) == 3 and parts[2].lower() == "versions":
            self._allow(req, "GET")
            return Route("keyvault.listSecretVersions", lambda q, c: self._list_versions(q, name))
        if len(parts) > 3:
            raise HttpError(400, "NotEmulated", f"The emulator does not emulate {req.method} {req.path}.")
        version = parts[2] if len(parts) == 3 else ""
        if method == "PUT" and not version:
            return Route("keyvault.setSecret", lambda q, c: self._set(q, name))
        if method == "GET":
            return Route("keyvault.getSecret", lambda q, c: self._get(q, name, version))
        if method == "PATCH":
            return Route("keyvault.updateSecret", lambda q, c: self._update(q, name, version))
        raise HttpError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on {req.path}.")

    @staticmethod
    def _allow(req: Request, *methods: str) -> None:
        if req.method not in methods:
            raise HttpError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on {req.path}.")

    def authenticate(self, req: Request, route: Route) -> None:
        if req.bearer() is None:
            raise ChallengeError(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
                headers={
                    "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/'
                    f'{self.emu.tenant_id}", resource="https://vault.azure.net"'
                },
            )
        if not req.query.get("api-version"):
            raise HttpError(400, "BadParameter", "The request URI contains an invalid or missing api-version.")

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "Throttled",
                rule.message or "Request was not processed because too many requests were received.",
                headers={"Retry-After": _seconds(rule.retry_after)},
            )
        return HttpError(rule.status, rule.code or "ServiceUnavailable", rule.message or "Injected fault.")

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        response.headers.setdefault("x-ms-keyvault-service-version", "1.9.0.0")
        response.headers.setdefault("x-ms-keyvault-region", "emulator")

    # -- helpers --------------------------------------------------------------------------------
    def _vault(self, req: Request) -> Vault:
        vault = self.emu.state.vaults.get(req.host)
        if vault is None:
            raise HttpError(404, "ResourceNotFound", f"The vault '{req.host}' does not exist in the emulated tenant.")
        return vault

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME_RE.match(name):
            raise HttpError(
                400,
                "BadParameter",
                f"The secret name '{name}' is invalid: use 1-127 letters, digits and dashes.",
            )

    def _versions(self, vault: Vault, name: str) -> tuple[str, list[SecretVersion]]:
        self._check_name(name)
        found = vault.secrets.get(name.lower())
        if found is None:
            raise HttpError(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name} was not found in this key vault. If you recently deleted "
                "this secret you may be able to recover it using the correct recovery command. For help "
                "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        return found

    def _version(self, vault: Vault, name: str, version: str) -> tuple[str, SecretVersion]:
        stored_name, versions = self._versions(vault, name)
        if not version:
            return stored_name, versions[-1]
        for item in versions:
            if item.version.lower() == version.lower():
                return stored_name, item
        raise HttpError(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {name}/{version} was not found in this key vault. For help resolving "
            "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
        )

    @staticmethod
    def _attributes(item: SecretVersion) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "enabled": item.enabled,
            "created": item.created,
            "updated": item.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }
        if item.exp is not None:
            attrs["exp"] = item.exp
        if item.nbf is not None:
            attrs["nbf"] = item.nbf
        return attrs

    def _bundle(self, vault: Vault, name: str, item: SecretVersion, *, value: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"https://{vault.host}/secrets/{name}/{item.version}",
            "attributes": self._attributes(item),
            "tags": dict(item.tags),
        }
        if value:
            body["value"] = item.value
        if item.content_type is not None:
            body["contentType"] = item.content_type
        return body

    def _page(self, req: Request, items: list[dict[str, Any]]) -> Response:
        try:
            size = int(req.query.get("maxresults") or self.emu.keyvault_page_size)
            start = int(req.query.get("$skiptoken") or 0)
        except ValueError:
            raise HttpError(400, "BadParameter", "maxresults and $skiptoken must be integers.") from None
        if not 1 <= size <= 25:
            raise HttpError(400, "BadParameter", "maxresults must be between 1 and 25.")
        page = items[start : start + size]
        next_link = None
        if start + size < len(items):
            next_link = (
                f"https://{req.host}{req.path}?api-version={req.query['api-version']}"
                f"&$skiptoken={start + size}&maxresults={size}"
            )
        return json_response(200, {"value": page, "nextLink": next_link})

    # -- handlers -------------------------------------------------------------------------------
    def _set(self, req: Request, name: str) -> Response:
        vault = self._vault(req)
        self._check_name(name)
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise HttpError(400, "BadParameter", "Property 'value' (a string) is required to set a secret.")
        attrs = body.get("attributes") or {}
        tags = body.get("tags") or {}
        if not isinstance(attrs, dict) or not isinstance(tags, dict):
            raise HttpError(400, "BadParameter", "'attributes' and 'tags' must be objects.")
        if len(tags) > 15:
            raise HttpError(400, "BadParameter", "A secret can have at most 15 tags.")
        now = int(self.emu.clock().timestamp())
        ledger.record(str(body["value"]))
        item = SecretVersion(
            version=uuid.uuid4().hex,
            value=body["value"],
            content_type=body.get("contentType"),
            tags={str(k): str(v) for k, v in tags.items()},
            enabled=bool(attrs.get("enabled", True)),
            exp=_int_or_none(attrs.get("exp")),
            nbf=_int_or_none(attrs.get("nbf")),
            created=now,
            updated=now,
        )
        stored_name, versions = vault.secrets.get(name.lower(), (name, []))
        versions.append(item)
        vault.secrets[name.lower()] = (stored_name, versions)
        return json_response(200, self._bundle(vault, stored_name, item, value=True))

    def _get(self, req: Request, name: str, version: str) -> Response:
        vault = self._vault(req)
        stored_name, item = self._version(vault, name, version)
        if not item.enabled:
            raise HttpError(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                extra={"innererror": {"code": "SecretDisabled"}},
            )
        return json_response(200, self._bundle(vault, stored_name, item, value=True))

    def _update(self, req: Request, name: str, version: str) -> Response:
        vault = self._vault(req)
        stored_name, item = self._version(vault, name, version)
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "BadParameter", "The request body must be a JSON object.")
        attrs = body.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise HttpError(400, "BadParameter", "'attributes' must be an object.")
        if "enabled" in attrs and attrs["enabled"] is not None:
            item.enabled = bool(attrs["enabled"])
        if "exp" in attrs:
            item.exp = _int_or_none(attrs["exp"])
        if "nbf" in attrs:
            item.nbf = _int_or_none(attrs["nbf"])
        if isinstance(body.get("tags"), dict):
            item.tags = {str(k): str(v) for k, v in body["tags"].items()}
        if "contentType" in body:
            item.content_type = body["contentType"]
        item.updated = int(self.emu.clock().timestamp())
        return json_response(200, self._bundle(vault, stored_name, item, value=False))

    def _list_versions(self, req: Request, name: str) -> Response:
        vault = self._vault(req)
        stored_name, versions = self._versions(vault, name)
        items = [self._bundle(vault, stored_name, v, value=False) for v in versions]
        return self._page(req, items)

    def _list_secrets(self, req: Request, call: Call) -> Response:
        vault = self._vault(req)
        items = []
        for stored_name, versions in vault.secrets.values():
            latest = versions[-1]
            item = self._bundle(vault, stored_name, latest, value=False)
            item["id"] = f"https://{vault.host}/secrets/{stored_name}"
            items.append(item)
        return self._page(req, items)


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HttpError(400, "BadParameter", f"Attribute times must be Unix seconds, got {value!r}.")
    return int(value)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
