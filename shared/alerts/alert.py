"""``DefenderAlert``: one Defender for AI alert, whatever format it arrived in.

Built by ``shared.alerts.convert`` from a validated input model; every string in it has been
cleaned (control and invisible characters removed) and bounded, and entities / extended
properties are bounded JSON. It is immutable and serialises to JSON (``model_dump(mode="json")``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shared.alerts.catalogue import AlertCategory, CatalogueEntry
from shared.alerts.formats import AlertFormat
from shared.finding import Severity, UtcDatetime

__all__ = ["AlertStatus", "DefenderAlert"]


class AlertStatus(StrEnum):
    """Alert state. The REST API says Active/InProgress/Resolved/Dismissed; the workflow schema's
    example and Log Analytics rows say ``New`` (mapped to ACTIVE). Anything else is UNKNOWN."""

    ACTIVE = "Active"
    IN_PROGRESS = "InProgress"
    RESOLVED = "Resolved"
    DISMISSED = "Dismissed"
    UNKNOWN = "Unknown"

    @classmethod
    def from_received(cls, value: str | None) -> AlertStatus:
        """Map a received status (any case, spaces ignored); ``None``/empty -> ACTIVE."""
        if value is None or not value.strip():
            return cls.ACTIVE
        key = value.replace(" ", "").replace("_", "").lower()
        if key in {"new", "active"}:
            return cls.ACTIVE
        for member in cls:
            if member.value.lower() == key:
                return member
        return cls.UNKNOWN


ShortText = Annotated[str, Field(max_length=1024)]


class DefenderAlert(BaseModel):
    """One normalized Defender for AI alert.

    - ``system_alert_id``: Defender's unique id of this alert instance, as received (the
      dedupe key lower-cases it).
    - ``alert_type``: the canonical type (see ``shared.alerts.catalogue``);
      ``alert_type_received``: exactly what the payload said (cleaned, bounded).
    - ``catalogue_entry``: ``None`` for an ``AI.`` type the catalogue does not know.
    - ``resource_ids``: every Azure resource id the alert names, in resolution priority order
      (``resourceIdentifiers`` AzureResource items, then ``AzureResourceId`` / ``ResourceId``).
    - ``entities``: the alert's entities as bounded JSON; ``extended_properties``: string values.
    - ``alert_uri``: kept only when it is an ``https://`` URL.
    - ``received_via``: the intake path the caller named (``normalize(source=...)``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_alert_id: str = Field(min_length=1, max_length=256)
    alert_type: str = Field(min_length=1, max_length=160)
    alert_type_received: str = Field(min_length=1, max_length=160)
    catalogue_entry: CatalogueEntry | None
    category: AlertCategory
    display_name: str = Field(max_length=500)
    description: str = Field(max_length=4096)
    severity: Severity
    status: AlertStatus
    start_time: UtcDatetime
    end_time: UtcDatetime
    time_generated: UtcDatetime | None = None
    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    compromised_entity: str | None = None
    resource_ids: tuple[ShortText, ...] = ()
    entities: tuple[dict[str, JsonValue], ...] = ()
    extended_properties: dict[str, str] = Field(default_factory=dict)
    remediation_steps: tuple[str, ...] = ()
    alert_uri: str | None = None
    product_name: str | None = None
    vendor_name: str | None = None
    source_format: AlertFormat
    received_via: str | None = Field(default=None, max_length=64)

    @property
    def dedupe_key(self) -> str:
        """``"defender:" + system alert id`` lower-cased: the same alert from every path."""
        return "defender:" + self.system_alert_id.lower()
