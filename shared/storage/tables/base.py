"""What every Table Storage store shares: tables created on first use, and safe row keys."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TableServiceClient

from shared.ports.stores import StorageError

__all__ = ["LazyTable", "record_key", "safe_key", "utc"]


def record_key(key: str) -> str:
    """A Table-safe row key for an arbitrary string (no '/', '\\', '#', '?')."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def safe_key(value: str) -> str:
    """``value`` with every character a row or partition key may not hold replaced (at most 200)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:200] or "_"


def utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


class LazyTable:
    """One Table Storage table, created on first use (once per process).

    ``client()`` raises ``StorageError`` naming the table and the role it needs.
    """

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self._service = service
        self._name = name
        self._client: TableClient | None = None
        self._lock = threading.Lock()

    def client(self) -> TableClient:
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._service.create_table_if_not_exists(self._name)
                except HttpResponseError as exc:
                    raise StorageError(
                        f"cannot open table {self._name!r}: {exc.reason or exc.message} "
                        "(needs the 'Storage Table Data Contributor' role)"
                    ) from exc
            return self._client
