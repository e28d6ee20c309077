"""``warden replay``: deliver a saved alert or event to a running host's Event Grid webhook."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

__all__ = ["as_events", "replay"]


def _is_event_grid(obj: Any) -> bool:
    return isinstance(obj, dict) and "eventType" in obj and "data" in obj


def _is_cloud_event(obj: Any) -> bool:
    return isinstance(obj, dict) and "specversion" in obj


def as_events(text: str) -> tuple[list[dict[str, Any]], bool]:
    """The events to send and whether they are CloudEvents. A bare alert is wrapped into an Event
    Grid event the way Warden's Logic App does (id = SystemAlertId when present).

    Raises ``ValueError`` for text that is not JSON, or mixes schemas.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the file is not JSON: {exc}") from None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("the file holds an empty array: nothing to send")
    if all(_is_cloud_event(i) for i in items):
        return items, True
    if all(_is_event_grid(i) for i in items):
        return items, False
    if any(_is_cloud_event(i) or _is_event_grid(i) for i in items):
        raise ValueError("the file mixes events and bare alerts, or both event schemas; send them separately")
    now = datetime.now(UTC).isoformat()
    wrapped = []
    for alert in items:
        props = alert.get("properties", {}) if isinstance(alert, dict) else {}
        alert_id = (alert.get("SystemAlertId") if isinstance(alert, dict) else None) or props.get("systemAlertId")
        wrapped.append(
            {
                "id": str(alert_id or uuid.uuid4()),
                "eventType": "Warden.DefenderForCloud.Alert",
                "subject": "warden/replay",
                "eventTime": now,
                "dataVersion": "1.0",
                "data": alert,
            }
        )
    return wrapped, False


def replay(text: str, *, endpoint: str, code: str | None, function: str, timeout: float = 60.0) -> tuple[int, str]:
    """POST the file's events as Event Grid would; returns (status, short body)."""
    events, cloud = as_events(text)
    headers = {"aeg-event-type": "Notification"}
    if cloud:
        headers["Content-Type"] = "application/cloudevents-batch+json; charset=utf-8"
    params = {"functionName": function}
    if code:
        params["code"] = code
    response = requests.post(
        f"{endpoint.rstrip('/')}/runtime/webhooks/eventgrid",
        params=params,
        json=events,
        headers=headers,
        timeout=timeout,
    )
    return response.status_code, response.text[:500]
