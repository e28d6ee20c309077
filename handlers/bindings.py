"""Binding glue the blueprints share: Functions types <-> plain values. No rules live here.

- ``event_to_dict``: a ``func.EventGridEvent`` or ``func.CloudEvent`` back to its wire shape (the
  use cases validate events themselves, whatever schema the subscription delivers);
- ``retry_options``: a contract's ``RetrySpec`` as Durable's ``RetryOptions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import azure.durable_functions as df

from shared.contracts.retry import RetrySpec

__all__ = ["event_to_dict", "retry_options"]


def event_to_dict(event: Any) -> dict[str, Any]:
    """A ``func.EventGridEvent`` or ``func.CloudEvent`` back to its wire shape."""
    try:
        data = event.get_json()
    except Exception:
        data = None
    when = getattr(event, "time", None) if hasattr(event, "specversion") else getattr(event, "event_time", None)
    time_text = when.isoformat() if isinstance(when, datetime) else when
    if hasattr(event, "specversion"):
        return {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "time": time_text,
            "subject": event.subject,
            "data": data,
        }
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": time_text,
        "dataVersion": event.data_version,
        "data": data,
    }


def retry_options(spec: RetrySpec) -> df.RetryOptions:
    """Durable's fixed-interval retry options for ``spec``."""
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=spec.interval_seconds * 1000,
        max_number_of_attempts=spec.max_attempts,
    )
