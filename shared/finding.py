"""``Finding``: one thing Warden noticed, the input of every incident.

Every finding source (Defender alerts, key hygiene, KQL anomalies, resource-write events,
Key Vault expiry events, posture checks) produces ``Finding`` objects; one incident
orchestration consumes them (an incident is that orchestration; its instance id derives from its
first finding: ``incident_instance_id``). ``Finding`` is an immutable pydantic model, so it
validates on construction and serialises to JSON for Durable Functions inputs and outputs.

Evidence values come from attacker-controlled text (alert descriptions, prompts, user
agents): they are stored as data, size-limited, and must be escaped by every renderer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.resource_ids import AccountId, DeploymentId, VaultId, WorkspaceId

__all__ = [
    "MAX_EVIDENCE_BYTES",
    "Finding",
    "FindingSource",
    "Severity",
    "UtcDatetime",
    "incident_instance_id",
]

MAX_EVIDENCE_BYTES = 32_768
"""Evidence is summarised, not archived: Durable payloads stay small (history replays)."""


class Severity(StrEnum):
    """Severity, in Defender for Cloud's scale (Informational < Low < Medium < High)."""

    INFORMATIONAL = "Informational"
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Case-insensitive parse; raises ``ValueError`` naming the accepted values."""
        for member in cls:
            if member.value.lower() == str(value).strip().lower():
                return member
        raise ValueError(f"unknown severity {value!r}; expected one of {', '.join(m.value for m in cls)}")


_SEVERITY_RANK = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
}


class FindingSource(StrEnum):
    """Where a finding came from."""

    DEFENDER_ALERT = "defender_alert"
    KEY_HYGIENE = "key_hygiene"
    KEY_VAULT_EVENT = "key_vault_event"
    ANOMALY = "anomaly"
    RESOURCE_EVENT = "resource_event"
    POSTURE = "posture"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime (UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _bounded_evidence(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, default=str, ensure_ascii=False).encode("utf-8"))
    if size > MAX_EVIDENCE_BYTES:
        raise ValueError(f"evidence is {size} bytes; at most {MAX_EVIDENCE_BYTES} are kept per finding")
    return value


class Finding(BaseModel):
    """One normalized observation about an Azure AI resource.

    ``kind`` is a stable identifier of the detection (e.g. ``defender:AI.Azure_Jailbreak...``,
    ``key:age_exceeded``, ``anomaly:token_spike``, ``model:unapproved``); policies match on it.
    ``dedupe_key`` identifies the underlying event: two findings with the same key are the
    same thing seen twice (a redelivered event, an alert in two export paths).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: FindingSource
    kind: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")
    severity: Severity
    title: str = Field(min_length=1, max_length=500)
    resource: AccountId | DeploymentId | VaultId | WorkspaceId | None = None
    evidence: Annotated[dict[str, Any], AfterValidator(_bounded_evidence)] = Field(default_factory=dict)
    dedupe_key: str = Field(min_length=1, max_length=512)
    first_seen: UtcDatetime
    last_seen: UtcDatetime

    @model_validator(mode="after")
    def _times_ordered(self) -> Finding:
        if self.last_seen < self.first_seen:
            raise ValueError(
                f"last_seen {self.last_seen.isoformat()} is before first_seen {self.first_seen.isoformat()}"
            )
        return self

    @property
    def account(self) -> AccountId | None:
        """The AI account the finding is about, if any (deployments resolve to their account)."""
        if isinstance(self.resource, AccountId | DeploymentId):
            return self.resource.account
        return None

    @property
    def incident_key(self) -> str:
        """What groups findings into one incident: the resource when known, else the dedupe key."""
        if self.resource is not None:
            return "resource:" + str(self.resource).lower()
        return "finding:" + self.dedupe_key

    @property
    def instance_id(self) -> str:
        """Deterministic orchestration instance id for this finding's own incident."""
        return incident_instance_id(self.dedupe_key)


def incident_instance_id(key: str) -> str:
    """A deterministic, URL-safe Durable instance id for ``key``.

    The same key always gives the same id, so a redelivered event starts nothing new.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"inc-{digest}"
