"""Signed one-click links for notifications: approve or reject a step from Teams or mail.

Token format (URL-safe, no padding)::

    base64url(payload JSON) "." base64url(HMAC-SHA256(key, "warden-link.v1." + payload segment))

    payload = {"v": 1, "i": incident_id, "s": step_id, "d": "approve"|"reject",
               "a": bound approver (a user id / UPN / e-mail, or a role or group),
               "e": expiry (unix seconds), "n": random nonce}

The key is ``WARDEN_LINK_SIGNING_KEY`` (a Key Vault reference in Azure). A link is bound to
one incident, step, decision and approver, expires (never later than the approval itself), and
is single-use: the POST that decides consumes its nonce in the idempotency store. Opening the
link (GET) only shows a confirmation page — mail and Teams link scanners follow GETs — and the
POST still requires the signed-in principal to match the bound approver.

Errors: ``LinkError`` with ``status`` 400 (malformed), 403 (bad signature), 410 (expired).
Never log a token or its signature (``shared.observability`` redacts them as well).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

__all__ = ["LinkClaims", "LinkError", "link_url", "sign_link", "verify_link"]

_DOMAIN = b"warden-link.v1."
MAX_TOKEN_CHARS = 2_048


class LinkError(ValueError):
    """A link that cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LinkClaims:
    incident_id: str
    step_id: str
    decision: Literal["approve", "reject"]
    approver: str
    expires_at: datetime
    nonce: str

    @property
    def approve(self) -> bool:
        return self.decision == "approve"

    @property
    def use_key(self) -> str:
        """The idempotency key that makes the link single-use."""
        return f"approval-link:{self.nonce}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, segment: str) -> bytes:
    return hmac.new(key, _DOMAIN + segment.encode("ascii"), hashlib.sha256).digest()


def sign_link(
    key: bytes,
    *,
    incident_id: str,
    step_id: str,
    decision: Literal["approve", "reject"],
    approver: str,
    expires_at: datetime,
    nonce: str | None = None,
) -> str:
    """A signed token for one decision by one approver (see the module docstring)."""
    if len(key) < 16:
        raise ValueError("WARDEN_LINK_SIGNING_KEY must be at least 16 bytes")
    payload = {
        "v": 1,
        "i": incident_id,
        "s": step_id,
        "d": decision,
        "a": approver,
        "e": int(expires_at.timestamp()),
        "n": nonce or secrets.token_urlsafe(16),
    }
    segment = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{segment}.{_b64(_mac(key, segment))}"


def verify_link(key: bytes, token: str, *, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; raises ``LinkError`` otherwise.

    The signature is checked (constant-time) before anything in the payload is trusted.
    """
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise LinkError(400, "this approval link is malformed (copy the whole link from the notification)")
    segment, signature = token.split(".")
    try:
        given = _unb64(signature)
    except (ValueError, TypeError):
        given = b""  # undecodable: cannot match, refused as a bad signature below
    if not segment.isascii() or not hmac.compare_digest(given, _mac(key, segment)):
        raise LinkError(403, "this approval link's signature is invalid: it was altered or not issued by Warden")
    try:
        payload = json.loads(_unb64(segment))
        claims = LinkClaims(
            incident_id=str(payload["i"]),
            step_id=str(payload["s"]),
            decision=payload["d"] if payload["d"] in ("approve", "reject") else _bad("d"),
            approver=str(payload["a"]),
            expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
            nonce=str(payload["n"]),
        )
    except (ValueError, KeyError, TypeError):
        raise LinkError(400, "this approval link's content is unreadable") from None
    if payload.get("v") != 1:
        raise LinkError(400, "this approval link has an unknown version")
    if now >= claims.expires_at:
        raise LinkError(410, f"this approval link expired at {claims.expires_at.isoformat()}; open the approval page")
    return claims


def _bad(field: str) -> Literal["approve", "reject"]:
    raise ValueError(field)


def link_url(base_url: str, token: str) -> str:
    """The confirmation-page URL for a token (``{base}/api/approvals/link?token=...``)."""
    return f"{base_url.rstrip('/')}/api/approvals/link?token={quote(token, safe='')}"
