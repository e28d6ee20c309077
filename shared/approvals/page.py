"""The approval page: plain HTML forms served by the Function app, no scripts at all.

Every piece of alert text (descriptions, explanations, evidence, resource names) is attacker
controlled and goes through ``html.escape`` (quotes included). The page carries no script:
the Content-Security-Policy is ``script-src 'none'``, styles come only from the one inline
block whose SHA-256 is in the policy, forms may post only to the app itself and nothing may
frame it. Decisions are POST-only and carry a CSRF token bound to the signed-in principal
(``csrf_token``), and the handler also checks ``Origin``. Responses are never cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any

from shared.approvals.links import LinkClaims
from shared.approvals.principal import Principal
from shared.approvals.records import ApprovalRecord

__all__ = [
    "SECURITY_HEADERS",
    "check_csrf",
    "csrf_token",
    "render_confirm",
    "render_forbidden",
    "render_list",
    "render_message",
]

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:48rem;margin:auto;line-height:1.4}"
    "h1{font-size:1.4rem}.card{border:1px solid #bbb;border-radius:.5rem;padding:1rem;margin:1rem 0}"
    "pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:.5rem;font-size:.85rem}"
    "textarea{width:100%;min-height:5rem;font-size:1rem;box-sizing:border-box}"
    "button{font-size:1.1rem;padding:.9rem 1.4rem;margin:.5rem .5rem 0 0;border-radius:.4rem;border:0;min-width:8rem}"
    ".approve{background:#1a7f37;color:#fff}.reject{background:#b42318;color:#fff}"
    ".meta{color:#555;font-size:.9rem}.msg{padding:.8rem;border-radius:.4rem;background:#eef}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'none'; "
        f"style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
"""Headers of every HTML (and JSON) response of the approvals API."""

_CSRF_WINDOW = 3600


def csrf_token(key: bytes, principal: Principal, *, now: datetime) -> str:
    """A token bound to the principal and the current hour (valid for up to two hours)."""
    window = int(now.timestamp()) // _CSRF_WINDOW
    return _csrf(key, principal.id, window)


def _csrf(key: bytes, principal_id: str, window: int) -> str:
    mac = hmac.new(key, f"warden-csrf.v1|{principal_id}|{window}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def check_csrf(key: bytes, principal: Principal, token: str, *, now: datetime) -> bool:
    window = int(now.timestamp()) // _CSRF_WINDOW
    return any(hmac.compare_digest(token.encode(), _csrf(key, principal.id, w).encode()) for w in (window, window - 1))


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _who(principal: Principal) -> str:
    return f"<p class=meta>Signed in as <span id=who>{escape(principal.name)}</span> ({escape(principal.id)})</p>"


def _evidence(record: ApprovalRecord) -> str:
    parts = [
        f"<p><strong>{escape(record.title)}</strong></p>",
        f"<p class=meta>Incident <code>{escape(record.incident_id)}</code> · step <code>{escape(record.step_id)}</code>"
        f" · {escape(record.step.action.value)} · needs {escape(record.requirement.replace('_', ' '))}"
        f" · expires {escape(record.expires_at.isoformat())}</p>",
        f"<p>Target (blast radius): <code>{escape(str(record.step.target))}</code></p>",
    ]
    if record.explanation:
        parts.append(f"<p class=explanation>{escape(record.explanation)}</p>")
    if record.step.reason:
        parts.append(f"<p class=meta>{escape(record.step.reason)}</p>")
    if record.evidence:
        parts.append(f"<pre class=evidence>{escape(json.dumps(record.evidence, indent=2, default=str)[:6000])}</pre>")
    approvals = [d for d in record.decisions if d.approved]
    if approvals:
        names = ", ".join(escape(d.approver_name or d.approver_id) for d in approvals)
        parts.append(f"<p class=meta>Approved so far by {names} ({len(approvals)}/{record.approvals_needed})</p>")
    return "".join(parts)


def _decision_form(action: str, hidden: dict[str, str], *, approve_label: str, reject_label: str | None) -> str:
    fields = "".join(f'<input type=hidden name={escape(k)} value="{escape(v)}">' for k, v in hidden.items())
    buttons = f"<button class=approve type=submit name=decision value=approve>{escape(approve_label)}</button>"
    if reject_label:
        buttons += f"<button class=reject type=submit name=decision value=reject>{escape(reject_label)}</button>"
    return (
        f'<form method=post action="{escape(action)}">{fields}'
        "<label>Justification (required)<br><textarea name=justification required maxlength=2000></textarea></label>"
        f"<div>{buttons}</div></form>"
    )


def render_list(
    principal: Principal, records: Iterable[ApprovalRecord], *, csrf: str, action: str, message: str = ""
) -> str:
    """The pending approvals, each with its evidence and approve / reject buttons."""
    body = [_who(principal)]
    if message:
        body.append(f"<p class=msg role=status>{escape(message)}</p>")
    items = list(records)
    if not items:
        body.append("<p id=empty>Nothing is waiting for approval.</p>")
    for record in items:
        form = _decision_form(
            action,
            {"incident_id": record.incident_id, "step_id": record.step_id, "csrf": csrf},
            approve_label="Approve",
            reject_label="Reject",
        )
        body.append(
            f'<section class="card approval" data-step="{escape(record.step_id)}">{_evidence(record)}{form}</section>'
        )
    return _page("Warden: pending approvals", "".join(body))


def render_confirm(
    principal: Principal, record: ApprovalRecord, claims: LinkClaims, *, csrf: str, token: str, action: str
) -> str:
    """The page a one-click link opens: what will happen, and one button that POSTs it."""
    verb = "Approve" if claims.approve else "Reject"
    form = _decision_form(
        action,
        {"token": token, "csrf": csrf},
        approve_label=f"Confirm: {verb}",
        reject_label=None,
    )
    # The single button's name/value says approve; the signed link decides what is recorded.
    return _page(
        f"Warden: confirm {verb.lower()}", _who(principal) + f"<section class=card>{_evidence(record)}{form}</section>"
    )


def render_forbidden(principal: Principal | None, message: str) -> str:
    """A refusal without any way to decide (no forms, no buttons)."""
    who = _who(principal) if principal is not None else ""
    return _page("Warden: not allowed", f"{who}<p class=msg role=alert>{escape(message)}</p>")


def render_message(title: str, message: str, *, principal: Principal | None = None, back: str | None = None) -> str:
    extra = f'<p><a href="{escape(back)}">Back to pending approvals</a></p>' if back else ""
    who = _who(principal) if principal is not None else ""
    return _page(title, f"{who}<p class=msg role=status>{escape(message)}</p>{extra}")


def headers(extra: dict[str, Any] | None = None) -> dict[str, str]:
    out = dict(SECURITY_HEADERS)
    for k, v in (extra or {}).items():
        out[k] = str(v)
    return out
