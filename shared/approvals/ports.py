"""What the approvals handlers talk to: ``ApprovalsDeps``.

``shared.bootstrap.Container.approvals_deps`` builds it from the composition root (Table stores,
the Event Grid and Teams channels the policy asks for, the link-signing key); tests build one
over memory stores, fake channels and a fixed clock (``tests.approvals_support.memory_deps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.approvals.service import ApprovalService
from shared.ports.channels import Channel
from shared.ports.stores import IdempotencyStore

__all__ = ["ApprovalsDeps"]


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
