"""What the incident and restore use cases talk to: ``ResponsePorts``.

``shared.bootstrap.Container.response_ports`` builds it (Azure adapters, Table stores, the policy
validated at start-up, ``WARDEN_DRY_RUN``); unit tests build it over ``tests.fakes`` and the
memory stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.policy import Policy
from shared.ports.cognitive import CognitivePort
from shared.ports.stores import AuditStore, DisruptiveActionLog, IdempotencyStore, SnapshotStore

__all__ = ["ResponsePorts"]


@dataclass
class ResponsePorts:
    """Everything the incident and restore activities need."""

    cognitive: CognitivePort
    snapshots: SnapshotStore
    breaker: DisruptiveActionLog
    idempotency: IdempotencyStore
    audit: AuditStore
    policy: Policy
    dry_run: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
