"""The orchestration port: start Durable orchestrations, read their status, raise their events.

What the intake, the key triggers and the approvals API ask of the Durable Functions client.
The Azure implementation is ``shared.azure.durable.DurableOrchestrations`` (over the client a
handler receives from its ``durable_client_input`` binding); tests use fakes. Starting an
instance id that is Pending or Running is refused by the extension itself (``NonRunningStates``
default), so a start racing another start cannot run one instance twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["FINISHED", "LIVE", "OrchestrationStatus", "Orchestrations"]

FINISHED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
"""Runtime statuses of an instance that will not run again by itself."""
LIVE = frozenset({"Running", "Pending", "Completed", "ContinuedAsNew"})
"""Runtime statuses of an instance that is under way or done (a start would repeat it)."""


@dataclass(frozen=True, slots=True)
class OrchestrationStatus:
    """An instance's runtime status (``Running``, ``Completed``...) and its custom status."""

    runtime_status: str
    custom_status: Any = None


class Orchestrations(Protocol):
    async def start(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        """Start ``orchestrator`` as ``instance_id`` with ``payload`` as its input."""
        ...

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        """The instance's status, or ``None`` when no such instance exists."""
        ...

    async def raise_event(self, instance_id: str, event: str, payload: dict[str, Any]) -> None:
        """Raise the external event ``event`` on the instance."""
        ...
