"""Builds what the approvals handlers need from the process container, once.

``approvals_deps()`` is what ``handlers/approvals.py`` uses; ``use_deps(deps)`` substitutes a
bundle (tests: memory stores, fake channels, a fixed clock); ``use_deps(None)`` rebuilds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from shared.approvals.service import ApprovalService
from shared.notify.channels import Channel, EventGridChannel, TeamsChannel
from shared.observability import register_secret
from shared.storage.ports import IdempotencyStore

__all__ = ["ApprovalsDeps", "approvals_deps", "build_deps", "use_deps"]

_log = logging.getLogger("warden.approvals")
_lock = threading.Lock()
_override: ApprovalsDeps | None = None
_built: ApprovalsDeps | None = None
_built_for: object = None
_APP_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ApprovalsDeps:
    service: ApprovalService
    idempotency: IdempotencyStore
    channels: list[Channel] = field(default_factory=list)
    link_key: bytes | None = None
    base_url: str | None = None
    approver_role: str = "Warden.Approver"
    notify_attempts: int = 3
    notify_backoff: float = 0.5
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    csrf_key: bytes = b""


def build_deps() -> ApprovalsDeps:
    """Real adapters over the container: Table stores, Event Grid and Teams channels per policy."""
    import secrets

    from shared.bootstrap import container

    c = container()
    settings = c.settings
    policy = c.policy  # validated at start-up
    channels: list[Channel] = []
    wants_grid = policy.notifications.event_grid
    wants_teams = policy.notifications.teams
    if wants_grid and settings.notify_topic_endpoint:
        channels.append(EventGridChannel(c.clients.event_grid_publisher))
    if wants_teams and settings.teams_webhook_url is not None and settings.teams_webhook_url.get_secret_value():
        channels.append(TeamsChannel(settings.teams_webhook_url.get_secret_value()))
    key = settings.link_signing_key.get_secret_value().encode("utf-8") if settings.link_signing_key else None
    # Never log the signing key or the webhook URL (it is the webhook's credential).
    register_secret(settings.link_signing_key.get_secret_value() if settings.link_signing_key else None)
    register_secret(settings.teams_webhook_url.get_secret_value() if settings.teams_webhook_url else None)
    return ApprovalsDeps(
        service=ApprovalService(
            store=c.approvals,
            audit=c.audit,
            approver_role=settings.approver_role,
            policy=policy.approvals if policy else None,
        ),
        idempotency=c.idempotency,
        channels=channels,
        link_key=key if key and len(key) >= 16 else None,
        base_url=settings.public_base_url,
        approver_role=settings.approver_role,
        notify_attempts=settings.notify_attempts,
        # Without a configured key, CSRF tokens are signed with a per-process key (one instance only).
        csrf_key=key or secrets.token_bytes(32),
    )


def approvals_deps() -> ApprovalsDeps:
    """The substituted bundle if any, else one built from the current container (rebuilt when the
    container is replaced, e.g. by ``reset_container`` / ``set_container``)."""
    global _built, _built_for
    from shared.bootstrap import container

    with _lock:
        if _override is not None:
            return _override
    current = container()
    with _lock:
        if _built is None or _built_for is not current:
            _built = build_deps()
            _built_for = current
        return _built


def use_deps(deps: ApprovalsDeps | None) -> None:
    """Substitute ``deps`` for every handler (``None``: build from the container on next use)."""
    global _override, _built
    with _lock:
        _override = deps
        _built = None
