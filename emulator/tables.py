"""Log Analytics table schemas and row typing for the emulator's seeded tables.

The schemas (column names and Kusto types of AzureActivity, AzureDiagnostics, AzureMetrics,
SecurityAlert, and Resource Graph's ``resources``) are in ``data/table_schemas.json``, copied
from the project's reference notes with the upstream file and commit of each table.

Rows are stored as ``dict`` column -> Python value (``datetime`` for datetime columns, ``float``
for real, ``int`` for long/int, ``bool``, ``str`` for string/guid/timespan, any JSON value for
dynamic). ``coerce_row`` converts YAML/JSON input to that form and names the bad column.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "LOG_TABLES",
    "coerce_row",
    "format_cell",
    "format_datetime",
    "parse_datetime",
    "table_columns",
]

LOG_TABLES = ("AzureActivity", "AzureDiagnostics", "AzureMetrics", "SecurityAlert")
"""Log Analytics tables the emulator can hold rows for."""


@lru_cache(maxsize=1)
def _schemas() -> dict[str, list[tuple[str, str]]]:
    raw = json.loads(resources.files("emulator").joinpath("data/table_schemas.json").read_text("utf-8"))
    return {
        name: [(str(col), str(typ)) for col, typ in table["columns"]]
        for name, table in raw.items()
        if not name.startswith("_")
    }


def table_columns(table: str) -> list[tuple[str, str]]:
    """Columns ``(name, kusto_type)`` of ``table``; raises ``KeyError`` for an unknown table."""
    schemas = _schemas()
    if table not in schemas:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(schemas))}")
    return schemas[table]


def parse_datetime(value: Any) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset; naive means UTC) or pass a ``datetime`` through."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python < 3.12 accepts at most 6 fractional digits; Kusto writes 7.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, as Log Analytics writes it."""
    utc = value.astimezone(UTC)
    text = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def _coerce(kusto_type: str, value: Any) -> Any:
    if value is None:
        return None
    if kusto_type == "datetime":
        return parse_datetime(value)
    if kusto_type == "real":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        return float(value)
    if kusto_type in ("long", "int"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"expected an integer, got {type(value).__name__}")
        return int(value)
    if kusto_type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"expected a bool, got {value!r}")
    if kusto_type == "dynamic":
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if not isinstance(value, str | int | float):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return str(value)


def coerce_row(table: str, row: Any) -> dict[str, Any]:
    """Validate one input row of ``table`` and convert its values to the stored form.

    Raises ``ValueError`` naming the unknown column or the column whose value does not fit.
    """
    if not isinstance(row, dict):
        raise ValueError(f"a {table} row must be a mapping of column to value, got {type(row).__name__}")
    types = dict(table_columns(table))
    out: dict[str, Any] = {}
    for column, value in row.items():
        if column not in types:
            raise ValueError(f"{table} has no column {column!r}")
        try:
            out[column] = _coerce(types[column], value)
        except ValueError as exc:
            raise ValueError(f"{table}.{column} ({types[column]}): {exc}") from None
    if table in LOG_TABLES and out.get("TimeGenerated") is None:
        raise ValueError(f"{table} row needs a TimeGenerated value")
    if "Type" in types:
        out.setdefault("Type", table)
    return out


def format_cell(kusto_type: str, value: Any) -> Any:
    """A stored value as the Log Analytics query API writes it in a result row."""
    if value is None:
        return None
    if kusto_type == "datetime" and isinstance(value, datetime):
        return format_datetime(value)
    if kusto_type == "dynamic" and not isinstance(value, str):
        # The query API returns dynamic cells as JSON text.
        return json.dumps(value, separators=(",", ":"))
    return value
