"""What devhost reads besides the app: ``host.json`` beside it, and an optional env file."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.eventhub import DEFAULT_MAX_BATCH

__all__ = ["HostSettings", "load_env_file", "read_host_json"]

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_TASK_HUB = "TestHubName"
_SETTING = re.compile(r"%([^%]+)%")


def _resolve(value: str) -> str:
    """Replace ``%NAME%`` app-setting references from the environment (as the host does)."""
    return _SETTING.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)


@dataclass(frozen=True)
class HostSettings:
    """The ``host.json`` settings devhost honours."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    event_hub_max_batch: int = DEFAULT_MAX_BATCH
    task_hub: str = DEFAULT_TASK_HUB
    max_concurrent_activities: int | None = None


def read_host_json(app_dir: Path) -> HostSettings:
    """Read ``host.json`` in ``app_dir`` (defaults when absent).

    Raises ``ValueError`` naming the file and field when a value has the wrong type.
    """
    path = app_dir / "host.json"
    if not path.is_file():
        return HostSettings()
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON: {exc}") from exc
    extensions = doc.get("extensions") or {} if isinstance(doc, dict) else {}
    http = extensions.get("http") or {}
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"{str(path)!r}: extensions.http.routePrefix must be a string, got {prefix!r}")
    hubs = extensions.get("eventHubs") or {}
    batch = hubs.get("maxEventBatchSize") or (hubs.get("eventProcessorOptions") or {}).get("maxBatchSize")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise ValueError(f"{str(path)!r}: extensions.eventHubs.maxEventBatchSize must be a positive integer")
    durable = extensions.get("durableTask") or {}
    hub_name = durable.get("hubName")
    activities = durable.get("maxConcurrentActivityFunctions")
    return HostSettings(
        route_prefix=prefix.strip("/"),
        event_hub_max_batch=batch or DEFAULT_MAX_BATCH,
        task_hub=_resolve(hub_name) if isinstance(hub_name, str) and hub_name else DEFAULT_TASK_HUB,
        max_concurrent_activities=activities if isinstance(activities, int) else None,
    )


def load_env_file(path: Path, *, override: bool = False) -> dict[str, str]:
    """Load app settings into ``os.environ``; returns what was read.

    Accepts ``local.settings.json`` (its ``Values``) or ``KEY=VALUE`` lines (``#`` comments,
    optional ``export`` and quotes). Variables already set in the environment win unless
    ``override``. Raises ``ValueError`` naming the file and line for a malformed entry.
    """
    text = path.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"env file {str(path)!r} is not valid JSON: {exc}") from exc
        raw = doc.get("Values") if isinstance(doc, dict) else None
        if not isinstance(raw, dict):
            raise ValueError(f"env file {str(path)!r} has no 'Values' object (local.settings.json format)")
        values = {str(k): "" if v is None else str(v) for k, v in raw.items()}
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("export "):
                stripped = stripped[len("export ") :].strip()
            name, sep, value = stripped.partition("=")
            name = name.strip()
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
                raise ValueError(f"env file {str(path)!r} line {number}: expected NAME=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[name] = value
    for name, value in values.items():
        if override or name not in os.environ:
            os.environ[name] = value
    return values
