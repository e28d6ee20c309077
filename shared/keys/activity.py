"""Typed rows of the ``key_operations`` query: successful listKeys / regenerateKey calls.

``AzureActivity`` values "may be in all uppercase" (activity-log docs), so operation names,
resource ids and key names are matched case-insensitively. ``KeyName`` comes from the
recorded request body and is often empty; such regenerations are attributed later, if at all,
from Key Vault metadata (see ``shared.keys.scan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId, InvalidResourceIdError

__all__ = ["KeyOperation", "KeyOperationKind", "RowError", "parse_key_operations"]


class KeyOperationKind(StrEnum):
    LIST_KEYS = "listKeys"
    REGENERATE_KEY = "regenerateKey"


_OPERATIONS = {
    "microsoft.cognitiveservices/accounts/listkeys/action": KeyOperationKind.LIST_KEYS,
    "microsoft.cognitiveservices/accounts/regeneratekey/action": KeyOperationKind.REGENERATE_KEY,
}


class RowError(ValueError):
    """A ``key_operations`` row that cannot be used (names the column and value)."""


@dataclass(frozen=True, slots=True)
class KeyOperation:
    """One successful key operation on an account."""

    time: datetime
    account: AccountId
    kind: KeyOperationKind
    caller: str
    caller_ip: str | None
    correlation_id: str | None
    key: KeySlot | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> KeyOperation:
        """Parse one row; raises ``RowError`` naming the bad column."""
        when = row.get("TimeGenerated")
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                raise RowError(f"TimeGenerated={when!r}: expected an ISO-8601 time") from None
        if not isinstance(when, datetime):
            raise RowError(f"TimeGenerated={when!r}: expected a time")
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        op_text = str(row.get("OperationNameValue") or "")
        kind = _OPERATIONS.get(op_text.strip().lower())
        if kind is None:
            raise RowError(f"OperationNameValue={op_text!r}: expected listKeys or regenerateKey on an account")
        try:
            account = AccountId.parse(str(row.get("ResourceId") or "").strip())
        except InvalidResourceIdError as exc:
            raise RowError(f"ResourceId: {exc}") from None
        key_text = row.get("KeyName")
        key: KeySlot | None = None
        if isinstance(key_text, str) and key_text.strip():
            try:
                key = KeySlot.parse(key_text)
            except ValueError:
                key = None
        caller = str(row.get("Caller") or "").strip()
        return cls(
            time=when.astimezone(UTC),
            account=account,
            kind=kind,
            caller=caller,
            caller_ip=str(row["CallerIpAddress"]) if row.get("CallerIpAddress") else None,
            correlation_id=str(row["CorrelationId"]) if row.get("CorrelationId") else None,
            key=key,
        )


def parse_key_operations(rows: Iterable[Mapping[str, Any]]) -> tuple[list[KeyOperation], list[str]]:
    """All usable rows, and one problem line per unusable row (never raises for bad rows)."""
    operations: list[KeyOperation] = []
    problems: list[str] = []
    for index, row in enumerate(rows):
        try:
            operations.append(KeyOperation.from_row(row))
        except RowError as exc:
            problems.append(f"key_operations row {index}: {exc}")
    return operations, problems
