"""The signed-in user, from App Service Authentication's ``X-MS-CLIENT-PRINCIPAL`` header.

App Service Authentication (Easy Auth) fronts ``/api/*`` and injects the header after signing the
user in; clients cannot set it through the front end. Warden still validates it on every call
(defence in depth, and because devhost passes headers through unchanged): base64 of JSON
``{"auth_typ", "claims": [{"typ", "val"}], "name_typ", "role_typ"}``.

``parse_principal(headers)`` returns a ``Principal`` or raises ``PrincipalError`` (HTTP 401)
saying what is wrong. Identity comes only from here: never from a request body.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRINCIPAL_HEADER", "Principal", "PrincipalError", "parse_principal"]

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
MAX_HEADER_CHARS = 16_384

OID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
NAME_CLAIMS = ("name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
USERNAME_CLAIMS = (
    "preferred_username",
    "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "email",
    "emails",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
GROUP_CLAIMS = ("groups",)


class PrincipalError(ValueError):
    """The request carries no usable principal (HTTP 401); the message says why."""


@dataclass(frozen=True)
class Principal:
    """A validated signed-in user."""

    id: str
    name: str
    auth_type: str
    roles: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    aliases: frozenset[str] = field(default_factory=frozenset)  # lower-case ids, names, UPNs, e-mails

    def has_role_or_group(self, wanted: str) -> bool:
        """Whether the user holds app role ``wanted`` (exact) or is in group ``wanted`` (object id)."""
        return wanted in self.roles or wanted.lower() in {g.lower() for g in self.groups}

    def is_one_of(self, identities: Any) -> bool:
        """Whether any of ``identities`` (ids, UPNs, e-mails, names; case-insensitive) is this user."""
        return any(str(item).strip().lower() in self.aliases for item in identities if str(item).strip())

    def matches(self, identity: str) -> bool:
        """Whether ``identity`` designates this user: one of their aliases, a role or a group they hold."""
        return self.is_one_of([identity]) or self.has_role_or_group(identity)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def parse_principal(headers: Mapping[str, str]) -> Principal:
    """Validate ``X-MS-CLIENT-PRINCIPAL`` and return the principal it describes.

    Raises ``PrincipalError`` when the header is missing, too large, not base64, not a JSON
    object, has no claims list, or names no user id.
    """
    raw = _header(headers, PRINCIPAL_HEADER)
    if raw is None or not raw.strip():
        raise PrincipalError(f"not signed in: the {PRINCIPAL_HEADER} header (App Service Authentication) is missing")
    if len(raw) > MAX_HEADER_CHARS:
        raise PrincipalError(f"{PRINCIPAL_HEADER} is larger than {MAX_HEADER_CHARS} characters")
    text = raw.strip()
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise PrincipalError(f"{PRINCIPAL_HEADER} is not valid base64") from None
    try:
        body = json.loads(decoded.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PrincipalError(f"{PRINCIPAL_HEADER} does not decode to JSON") from None
    if not isinstance(body, dict):
        raise PrincipalError(f"{PRINCIPAL_HEADER} must be a JSON object with auth_typ and claims")
    claims = body.get("claims")
    if not isinstance(claims, list) or not claims:
        raise PrincipalError(f"{PRINCIPAL_HEADER} has no claims list")
    pairs: list[tuple[str, str]] = []
    for index, claim in enumerate(claims):
        if (
            not isinstance(claim, dict)
            or not isinstance(claim.get("typ"), str)
            or not isinstance(claim.get("val"), str)
        ):
            raise PrincipalError(f"{PRINCIPAL_HEADER} claims[{index}] must be an object with string typ and val")
        pairs.append((claim["typ"], claim["val"]))
    auth_type = body.get("auth_typ")
    if not isinstance(auth_type, str) or not auth_type:
        raise PrincipalError(f"{PRINCIPAL_HEADER} has no auth_typ")
    name_typ = body.get("name_typ") if isinstance(body.get("name_typ"), str) else None
    role_typ = body.get("role_typ") if isinstance(body.get("role_typ"), str) else None

    def values(types: tuple[str, ...]) -> list[str]:
        wanted = {t.lower() for t in types}
        return [v.strip() for t, v in pairs if t.lower() in wanted and v.strip()]

    oid = values(OID_CLAIMS)
    usernames = values(USERNAME_CLAIMS)
    names = values(((name_typ,) if name_typ else ()) + NAME_CLAIMS)
    user_id = (oid or usernames or [""])[0]
    if not user_id:
        raise PrincipalError(f"{PRINCIPAL_HEADER} names no user (no objectidentifier, preferred_username or upn claim)")
    if len(user_id) > 200:
        raise PrincipalError(f"{PRINCIPAL_HEADER} user id is longer than 200 characters")
    roles = values(((role_typ,) if role_typ else ()) + ROLE_CLAIMS)
    groups = values(GROUP_CLAIMS)
    display = (names or usernames or [user_id])[0][:200]
    aliases = frozenset(v.lower() for v in [*oid, *usernames, *names] if v)
    return Principal(
        id=user_id,
        name=display,
        auth_type=auth_type,
        roles=frozenset(roles),
        groups=frozenset(groups),
        aliases=aliases,
    )
