"""What the response activities talk to, and the one helper that keeps the audit idempotent.

``ResponsePorts`` bundles the Cognitive Services port, the state stores, the audit trail, the
policy loader and the global dry-run setting. ``shared.bootstrap.Container.response_ports`` builds it
in the composition root; tests pass fakes (``FakeCognitive``, the memory stores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.audit.chain import AuditEvent, AuditRecord
from shared.policy import Policy
from shared.ports.cognitive import CognitivePort
from shared.ports.stores import AuditStore, DisruptiveActionLog, IdempotencyStore, SnapshotStore

__all__ = ["AUDIT_KEY", "ResponsePorts", "audit_once"]

AUDIT_KEY = "audit_key"
"""``details`` field naming what an audit record is about; one record per key and incident."""


@dataclass
class ResponsePorts:
    """Everything the incident and restore activities need."""

    cognitive: CognitivePort
    snapshots: SnapshotStore
    breaker: DisruptiveActionLog
    idempotency: IdempotencyStore
    audit: AuditStore
    policy: Callable[[], Policy]
    dry_run: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def audit_once(audit: AuditStore, event: AuditEvent, key: str) -> AuditRecord | None:
    """Append ``event`` unless the incident already has a record with the same ``key``.

    A re-run activity (Durable retries, at-least-once delivery, an attempt that outlived its
    lease racing the one that took over) therefore never appends a duplicate: the store appends
    at most one record per key, atomically (``AuditStore.append_once``). Returns the new record,
    or ``None`` when one existed.
    """
    details: dict[str, Any] = {**event.details, AUDIT_KEY: key}
    return audit.append_once(event.model_copy(update={"details": details}), f"{event.incident_id or ''}|{key}")
