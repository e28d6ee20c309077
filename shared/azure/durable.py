"""``Orchestrations`` over the Durable Functions client (``azure-functions-durable`` 1.x).

The client comes from a handler's ``durable_client_input`` binding; ``shared.bootstrap`` wraps it.
The 1.x SDK raises on some not-found bodies of ``get_status`` instead of answering "no instance":
any failure to read a status is therefore "no such instance" here (logged). That is safe for
starts: the extension itself refuses ``start_new`` for a Pending or Running instance id.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.ports.durable import OrchestrationStatus

__all__ = ["DurableOrchestrations"]

_log = logging.getLogger("warden.durable")


class DurableOrchestrations:
    """``shared.ports.durable.Orchestrations`` over a ``DurableOrchestrationClient``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def start(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        await self._client.start_new(orchestrator, instance_id, payload)

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        try:
            found = await self._client.get_status(instance_id)
        except Exception as exc:  # the 1.x SDK raises on some 404 bodies
            _log.info("no orchestration status for %s (%s)", instance_id, type(exc).__name__)
            return None
        runtime = getattr(found, "runtime_status", None) if found else None
        if runtime is None:
            return None
        return OrchestrationStatus(str(getattr(runtime, "value", runtime)), getattr(found, "custom_status", None))

    async def raise_event(self, instance_id: str, event: str, payload: dict[str, Any]) -> None:
        await self._client.raise_event(instance_id, event, payload)
