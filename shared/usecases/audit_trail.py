"""The one place that audits "exactly once".

A re-run activity (Durable retries, at-least-once delivery, an attempt that outlived its lease
racing the one that took over) must never append a duplicate record. ``audit_once`` appends
``event`` unless the incident already has a record with the same ``key``: the store appends at
most one record per key, atomically (``AuditStore.append_once``: the record and a key marker in
one table transaction). Every keyed audit of Warden goes through it.
"""

from __future__ import annotations

from typing import Any

from shared.audit.chain import AuditEvent, AuditRecord
from shared.ports.stores import AuditStore

__all__ = ["AUDIT_KEY", "audit_once"]

AUDIT_KEY = "audit_key"
"""``details`` field naming what an audit record is about; one record per key and incident."""


def audit_once(audit: AuditStore, event: AuditEvent, key: str) -> AuditRecord | None:
    """Append ``event`` unless its incident already has a record keyed ``key``; returns the new
    record, or ``None`` when one existed. Needs Table Storage (Storage Table Data Contributor)."""
    details: dict[str, Any] = {**event.details, AUDIT_KEY: key}
    return audit.append_once(event.model_copy(update={"details": details}), f"{event.incident_id or ''}|{key}")
