"""Feeding local message batches to ``eventHubTrigger`` functions.

There is no Event Hub locally, so devhost plays the extension's part: it assigns sequence
numbers, offsets and enqueued times per hub and partition, builds the trigger metadata the
host sends (``SystemProperties``/``Properties`` for cardinality one; the ``…Array`` forms for
cardinality many) and lets azure-functions' own ``EventHubTriggerConverter`` build the
``func.EventHubEvent`` objects, exactly as the worker does.

Request shapes accepted by ``POST /admin/devhost/eventhub/{functionName}`` (master key):

* a JSON array: each item is one message body (a string is sent as UTF-8, anything else as
  its JSON text);
* a JSON object ``{"events": [{"body": …, "bodyBase64": "…", "properties": {…},
  "partitionKey": "…"}, …], "partitionId": "0"}`` for properties, keys and binary bodies.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

__all__ = [
    "DEFAULT_MAX_BATCH",
    "EventHubMessage",
    "EventHubPartitions",
    "MessageFormatError",
    "build_events",
    "parse_messages",
]

DEFAULT_MAX_BATCH = 100  # host.json extensions.eventHubs.maxEventBatchSize default (extension v5)
NAMESPACE = "devhost.servicebus.windows.net"


class MessageFormatError(ValueError):
    """The message list sent to the Event Hub endpoint is malformed; the text says where."""


@dataclass(frozen=True)
class EventHubMessage:
    """One message as sent by a producer."""

    body: bytes
    properties: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None


def _message(index: int, item: Any) -> EventHubMessage:
    if isinstance(item, str):
        return EventHubMessage(item.encode("utf-8"))
    if not isinstance(item, dict):
        return EventHubMessage(json.dumps(item).encode("utf-8"))
    unknown = set(item) - {"body", "bodyBase64", "properties", "partitionKey"}
    if unknown:
        raise MessageFormatError(
            f"events[{index}]: unknown field(s) {sorted(unknown)}; expected body or bodyBase64, "
            "properties, partitionKey"
        )
    if ("body" in item) == ("bodyBase64" in item):
        raise MessageFormatError(f"events[{index}]: give exactly one of 'body' or 'bodyBase64'")
    if "bodyBase64" in item:
        try:
            body = base64.b64decode(str(item["bodyBase64"]), validate=True)
        except binascii.Error as exc:
            raise MessageFormatError(f"events[{index}].bodyBase64 is not base64: {exc}") from exc
    else:
        raw = item["body"]
        body = raw.encode("utf-8") if isinstance(raw, str) else json.dumps(raw).encode("utf-8")
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise MessageFormatError(f"events[{index}].properties must be an object, got {type(properties).__name__}")
    key = item.get("partitionKey")
    if key is not None and not isinstance(key, str):
        raise MessageFormatError(f"events[{index}].partitionKey must be a string")
    return EventHubMessage(body, dict(properties), key)


def parse_messages(payload: Any) -> tuple[list[EventHubMessage], str]:
    """Parse the endpoint's JSON body into messages and a partition id.

    Raises ``MessageFormatError`` naming the offending field.
    """
    if isinstance(payload, list):
        return [EventHubMessage(_plain_body(item)) for item in payload], "0"
    if isinstance(payload, dict):
        events = payload.get("events")
        if not isinstance(events, list):
            raise MessageFormatError("expected a JSON array of messages or an object with an 'events' array")
        partition = str(payload.get("partitionId", "0"))
        return [_message(i, item) for i, item in enumerate(events)], partition
    raise MessageFormatError("expected a JSON array of messages or an object with an 'events' array")


def _plain_body(item: Any) -> bytes:
    return item.encode("utf-8") if isinstance(item, str) else json.dumps(item).encode("utf-8")


@dataclass(frozen=True)
class _Stamped:
    message: EventHubMessage
    sequence_number: int
    offset: str
    enqueued: dt.datetime

    def system_properties(self) -> dict[str, Any]:
        enqueued = _iso(self.enqueued)
        props: dict[str, Any] = {
            "x-opt-sequence-number": self.sequence_number,
            "x-opt-offset": self.offset,
            "x-opt-enqueued-time": enqueued,
            "SequenceNumber": self.sequence_number,
            "Offset": self.offset,
            "EnqueuedTimeUtc": enqueued,
        }
        if self.message.partition_key is not None:
            props["x-opt-partition-key"] = self.message.partition_key
            props["PartitionKey"] = self.message.partition_key
        return props


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventHubPartitions:
    """Per hub and partition sequence numbers and offsets (in memory, like a fresh emulator)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[tuple[str, str], tuple[int, int]] = {}

    def stamp(self, hub: str, partition: str, messages: Sequence[EventHubMessage]) -> list[_Stamped]:
        now = dt.datetime.now(dt.UTC)
        stamped: list[_Stamped] = []
        with self._lock:
            sequence, offset = self._next.get((hub, partition), (0, 0))
            for message in messages:
                stamped.append(_Stamped(message, sequence, str(offset), now))
                sequence += 1
                offset += len(message.body)
            self._next[(hub, partition)] = (sequence, offset)
        return stamped


def _partition_context(hub: str, partition: str, consumer_group: str) -> dict[str, str]:
    return {
        "ConsumerGroup": consumer_group,
        "EventHubName": hub,
        "FullyQualifiedNamespace": NAMESPACE,
        "PartitionId": partition,
    }


def _json_datum(value: Any) -> meta.Datum:
    return meta.Datum(json.dumps(value), "json")


def build_events(
    trigger: dict[str, Any], partition: str, batch: Sequence[_Stamped]
) -> func.EventHubEvent | list[func.EventHubEvent]:
    """The trigger value for one invocation: one event (cardinality one) or a list (many)."""
    hub = str(trigger.get("eventHubName") or "")
    context = _partition_context(hub, partition, str(trigger.get("consumerGroup") or "$Default"))
    if str(trigger.get("cardinality") or "one").lower() == "many":
        metadata = {
            "PartitionContext": _json_datum(context),
            "SystemPropertiesArray": _json_datum([s.system_properties() for s in batch]),
            "PropertiesArray": _json_datum([s.message.properties for s in batch]),
            "SequenceNumberArray": _json_datum([s.sequence_number for s in batch]),
            "OffsetArray": _json_datum([s.offset for s in batch]),
            "EnqueuedTimeUtcArray": _json_datum([_iso(s.enqueued) for s in batch]),
            "PartitionKeyArray": _json_datum([s.message.partition_key for s in batch]),
        }
        bodies = type("CollectionBytes", (), {"bytes": [s.message.body for s in batch]})()
        return EventHubTriggerConverter.decode(meta.Datum(bodies, "collection_bytes"), trigger_metadata=metadata)
    (single,) = batch
    metadata = {
        "PartitionContext": _json_datum(context),
        "SystemProperties": _json_datum(single.system_properties()),
        "Properties": _json_datum(single.message.properties),
        "SequenceNumber": meta.Datum(single.sequence_number, "int"),
        "Offset": meta.Datum(single.offset, "string"),
        "EnqueuedTimeUtc": meta.Datum(_iso(single.enqueued), "string"),
    }
    if single.message.partition_key is not None:
        metadata["PartitionKey"] = meta.Datum(single.message.partition_key, "string")
    return EventHubTriggerConverter.decode(meta.Datum(single.message.body, "bytes"), trigger_metadata=metadata)
