"""Event Grid basic-topic publish: ``POST https://{topic host}/api/events?api-version=2018-01-01``.

* ``Content-Type: application/json`` -> an array of Event Grid schema events (required: ``id``,
  ``subject``, ``eventType``, ``eventTime``; ``data``, ``dataVersion``, ``topic`` optional);
  ``application/cloudevents-batch+json`` -> an array of CloudEvents 1.0 (required: ``id``,
  ``source``, ``type``, ``specversion`` = "1.0"); ``application/cloudevents+json`` -> one
  CloudEvent object.
* Auth: ``aeg-sas-key: <topic key>`` or ``Authorization: Bearer ...``; otherwise 401.
* 400 ``BadRequest`` names the event index and field of a malformed event; 413 when the body is
  over 1 MB. Success is 200 with an empty body (the SDK accepts only 200).

Accepted events are stored on the topic (``Emulator.published_events``), Event Grid events with
``topic`` stamped as the topic's ARM id and ``metadataVersion`` "1", as Event Grid does.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import HttpError, Request, Response
from emulator.state import PublishedEvent, Topic
from emulator.tables import parse_datetime

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["MAX_PUBLISH_BYTES", "EventGridService"]

MAX_PUBLISH_BYTES = 1_048_576


class EventGridService:
    """Routes and handlers for Event Grid topic hosts."""

    name = "eventgrid"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, req: Request) -> Route:
        if req.path.rstrip("/").lower() != "/api/events":
            raise HttpError(404, "NotFound", f"The emulator does not emulate {req.method} {req.path}.")
        if req.method != "POST":
            raise HttpError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed.")
        return Route("eventgrid.publish", self._publish)

    def _topic(self, req: Request) -> Topic:
        topic = self.emu.state.topics.get(req.host)
        if topic is None:
            raise HttpError(404, "NotFound", f"The topic {req.host} does not exist in the emulated tenant.")
        return topic

    def authenticate(self, req: Request, route: Route) -> None:
        topic = self._topic(req)
        key = req.headers.get("aeg-sas-key")
        if key is not None:
            if hmac.compare_digest(key.encode(), topic.key.encode()):
                return
            raise self._unauthorized(req)
        if req.bearer() is not None:
            return
        raise self._unauthorized(req)

    @staticmethod
    def _unauthorized(req: Request) -> HttpError:
        return HttpError(
            401,
            "Unauthorized",
            f"The request authorization key is not authorized for {req.host.upper()}. "
            "Send a valid aeg-sas-key or a Bearer token.",
        )

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "TooManyRequests",
                rule.message or "The request was throttled (injected fault).",
                headers={"Retry-After": _seconds(rule.retry_after)},
            )
        return HttpError(rule.status, rule.code or "ServiceUnavailable", rule.message or "Injected fault.")

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        return None

    def _publish(self, req: Request, call: Call) -> Response:
        topic = self._topic(req)
        if not req.query.get("api-version"):
            raise _bad("The request must contain the api-version query parameter.")
        if len(req.body) > MAX_PUBLISH_BYTES:
            raise HttpError(
                413,
                "RequestEntityTooLarge",
                f"The maximum size ({MAX_PUBLISH_BYTES}) has been exceeded: the body has {len(req.body)} bytes.",
            )
        content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            payload = json.loads(req.body) if req.body else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad(f"The request body is not valid JSON: {exc}") from None
        if content_type == "application/cloudevents+json" and isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list) or not payload:
            raise _bad("The request body must be a non-empty JSON array of events.")
        if content_type in ("application/cloudevents-batch+json", "application/cloudevents+json"):
            schema = "CloudEventSchemaV1_0"
            for index, event in enumerate(payload):
                _check_cloud_event(index, event)
        elif content_type in ("application/json", ""):
            schema = "EventGridSchema"
            for index, event in enumerate(payload):
                _check_grid_event(index, event)
        else:
            raise _bad(f"Unsupported Content-Type '{content_type}' for a basic topic.")
        auth = "key" if "aeg-sas-key" in req.headers else "bearer"
        now = self.emu.clock()
        for event in payload:
            stored = dict(event)
            if schema == "EventGridSchema":
                stored["topic"] = topic.id
                stored.setdefault("dataVersion", "")
                stored["metadataVersion"] = "1"
            topic.events.append(PublishedEvent(topic.name, topic.host, schema, auth, now, stored))
        return Response(200, {"Content-Length": "0"})


def _check_grid_event(index: int, event: Any) -> None:
    if not isinstance(event, dict):
        raise _bad(f"Event {index} is not a JSON object.")
    for field in ("id", "subject", "eventType", "eventTime"):
        if not isinstance(event.get(field), str) or not event[field]:
            raise _bad(f"Required property '{field}' was not found or is empty in event {index}.")
    _check_time(index, "eventTime", event["eventTime"])
    if "dataVersion" in event and not isinstance(event["dataVersion"], str):
        raise _bad(f"Property 'dataVersion' of event {index} must be a string.")


def _check_cloud_event(index: int, event: Any) -> None:
    if not isinstance(event, dict):
        raise _bad(f"Event {index} is not a JSON object.")
    for field in ("id", "source", "type", "specversion"):
        if not isinstance(event.get(field), str) or not event[field]:
            raise _bad(f"Required property '{field}' was not found or is empty in event {index}.")
    if event["specversion"] != "1.0":
        raise _bad(f"Property 'specversion' of event {index} must be '1.0', got {event['specversion']!r}.")
    if "time" in event and event["time"] is not None:
        _check_time(index, "time", event["time"])
    if "data" in event and "data_base64" in event:
        raise _bad(f"Event {index} has both 'data' and 'data_base64'.")


def _check_time(index: int, field: str, value: Any) -> None:
    try:
        parse_datetime(value)
    except (ValueError, TypeError):
        raise _bad(f"Property '{field}' of event {index} is not an RFC 3339 timestamp: {value!r}.") from None


def _bad(message: str) -> HttpError:
    return HttpError(400, "BadRequest", message, extra={"details": [{"code": "InputJsonInvalid", "message": message}]})


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
