"""Which incident is open for a resource, and which findings each incident holds.

Correlation needs two facts that must survive restarts and concurrent intake:

- ``OpenIncidentStore``: at most one open incident per correlation key (the resource). Claimed
  with a conditional insert, so two alerts arriving together on one deployment cannot open
  two incidents. Closing is two-phase: the incident first marks its claim ``closing`` (new
  findings then open a new incident, which takes the claim over), waits longer than any
  in-flight intake can take, reads its final findings, and only then releases the claim
  (conditional on its instance id). So a finding never lands in an incident that has
  already taken its last look.
- ``IncidentFindingsStore``: every finding that joined an incident, once per dedupe key
  (conditional insert), so a storm of 1,000 alerts is recorded in full without making the
  orchestration's history grow by 1,000 events.

Tables: ``WardenOpenIncidents`` and ``WardenIncidentFindings``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.finding import Finding
from shared.ports.stores import StorageError
from shared.storage.tables.base import LazyTable, record_key

__all__ = ["TableIncidentFindingsStore", "TableOpenIncidentStore"]


class TableOpenIncidentStore:
    """Open incidents in ``WardenOpenIncidents`` (PartitionKey ``open``, RowKey = hash of the key)."""

    TABLE = "WardenOpenIncidents"

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, self.TABLE)

    def _table(self) -> TableClient:
        return self._lazy.client()

    def claim(self, correlation_key: str, instance_id: str, *, now: datetime) -> str | None:
        table = self._table()
        row = record_key(correlation_key)
        entity = {
            "PartitionKey": "open",
            "RowKey": row,
            "CorrelationKey": correlation_key[:1000],
            "InstanceId": instance_id,
            "Closing": False,
            "OpenedAt": now.astimezone(UTC),
        }
        for _ in range(5):
            try:
                table.create_entity(entity)
                return None
            except ResourceExistsError:
                pass
            try:
                held = table.get_entity("open", row)
            except ResourceNotFoundError:
                continue  # released in between: try the insert again
            if not held.get("Closing", False):
                return str(held["InstanceId"])
            try:  # a closing incident's claim is taken over, only if nobody else did first
                table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=held.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                return None
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            except HttpResponseError as exc:
                if exc.status_code not in (404, 412):
                    raise
        raise StorageError(f"claiming {correlation_key!r} kept racing with other writers")

    def mark_closing(self, correlation_key: str, instance_id: str) -> bool:
        table = self._table()
        try:
            held = table.get_entity("open", record_key(correlation_key))
        except ResourceNotFoundError:
            return False
        if held["InstanceId"] != instance_id:
            return False
        held["Closing"] = True
        try:
            table.update_entity(
                held, mode=UpdateMode.REPLACE, etag=held.metadata["etag"], match_condition=MatchConditions.IfNotModified
            )
        except HttpResponseError:
            return False
        return True

    def release(self, correlation_key: str, instance_id: str) -> bool:
        table = self._table()
        try:
            entity = table.get_entity("open", record_key(correlation_key))
        except ResourceNotFoundError:
            return False
        if entity["InstanceId"] != instance_id:
            return False
        try:
            table.delete_entity(
                "open",
                record_key(correlation_key),
                etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except HttpResponseError:
            return False
        return True

    def get(self, correlation_key: str) -> str | None:
        try:
            held = self._table().get_entity("open", record_key(correlation_key))
        except ResourceNotFoundError:
            return None
        return None if held.get("Closing", False) else str(held["InstanceId"])


class TableIncidentFindingsStore:
    """Findings in ``WardenIncidentFindings`` (PartitionKey = incident id, RowKey = hash of the dedupe key)."""

    TABLE = "WardenIncidentFindings"

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, self.TABLE)

    def _table(self) -> TableClient:
        return self._lazy.client()

    def add(self, incident_id: str, finding: Finding, *, now: datetime) -> bool:
        entity: dict[str, Any] = {
            "PartitionKey": incident_id,
            "RowKey": record_key(finding.dedupe_key),
            "JoinedAt": now.astimezone(UTC),
            "Finding": finding.model_dump_json().encode("utf-8"),  # binary: up to 64 KiB
        }
        try:
            self._table().create_entity(entity)
            return True
        except ResourceExistsError:
            return False

    def list(self, incident_id: str) -> list[Finding]:
        rows = list(self._table().query_entities("PartitionKey eq @pk", parameters={"pk": incident_id}))
        rows.sort(key=lambda e: (e["JoinedAt"], e["RowKey"]))
        return [Finding.model_validate(json.loads(bytes(e["Finding"]).decode("utf-8"))) for e in rows]

    def count(self, incident_id: str) -> int:
        return sum(
            1
            for _ in self._table().query_entities(
                "PartitionKey eq @pk", parameters={"pk": incident_id}, select=["RowKey"]
            )
        )
