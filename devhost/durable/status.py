"""Runtime statuses, client-facing errors and the status object of orchestration instances."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "ALL_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "DurableError",
    "InstanceAlreadyExistsError",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "OrchestrationStatus",
    "OrchestratorNotFoundError",
    "loads_or_none",
]

RUNNING_STATUSES = frozenset({"Pending", "Running", "ContinuedAsNew"})
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated"})
ALL_STATUSES = RUNNING_STATUSES | TERMINAL_STATUSES


class DurableError(Exception):
    """Base class of the engine's client-facing errors."""


class OrchestratorNotFoundError(DurableError, LookupError):
    """``start_new`` named a function that is not an orchestrator of the app."""


class InstanceNotFoundError(DurableError, LookupError):
    """No instance has this id."""


class InstanceGoneError(DurableError):
    """The instance already completed, failed or was terminated."""


class InstanceAlreadyExistsError(DurableError):
    """An instance with this id is Pending, Running or ContinuedAsNew (not overwritable)."""


@dataclass(frozen=True)
class OrchestrationStatus:
    """An instance's status, as the extension's status API reports it.

    ``input`` is the stored input with one JSON level removed (so an input started by the Python
    client reads back as JSON *text*, as on Azure); ``output`` and ``custom_status`` are JSON values.
    """

    name: str
    instance_id: str
    runtime_status: str
    input: Any
    output: Any
    custom_status: Any
    created_time: datetime
    last_updated_time: datetime

    def to_json(self, *, show_input: bool = True) -> dict[str, Any]:
        """The status object of the HTTP API (``createdTime`` as ``yyyy-MM-ddTHH:mm:ssZ``)."""
        return {
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status,
            "input": self.input if show_input else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": self.created_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastUpdatedTime": self.last_updated_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def loads_or_none(text: str | None) -> Any:
    """Parse stored JSON text (None stays None)."""
    return json.loads(text) if text is not None else None
