"""The Event Grid webhook: handshakes, single dispatch of notifications, and status codes.

Payload shapes follow learn.microsoft.com "event-grid/event-schema", "cloud-event-schema" and
"end-point-validation-event-grid-events-schema" / "...-cloud-events-schema".
"""

from __future__ import annotations

import json
from typing import Any

import requests

from devhost.server import DevHostThread

from .conftest import Recorder

SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
VALIDATION_CODE = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"


def _webhook(host: DevHostThread, function: str = "on_event", key: str | None = None) -> str:
    code = host.system_key("eventgrid_extension") if key is None else key
    return f"{host.url}/runtime/webhooks/eventgrid?functionName={function}&code={code}"


def _post(host: DevHostThread, body: Any, event_type: str | None, **kwargs: Any) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if event_type is not None:
        headers["aeg-event-type"] = event_type
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(kwargs.pop("url", None) or _webhook(host), data=data, headers=headers, timeout=10)


def _eg_event(event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": f"{SCOPE}/providers/Microsoft.KeyVault/vaults/kv",
        "subject": "keys/openai-key",
        "eventType": "Microsoft.KeyVault.SecretNearExpiry",
        "eventTime": "2026-11-25T10:00:00.1234567Z",
        "data": data,
        "dataVersion": "1",
        "metadataVersion": "1",
    }


def _cloud_event(event_id: str, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SCOPE,
        "type": "Microsoft.Resources.ResourceWriteSuccess",
        "time": "2026-11-25T10:00:00Z",
        "subject": "/deployments/gpt-4o",
        "datacontenttype": "application/json",
        "data": data,
    }


def test_event_grid_schema_validation_returns_the_code(host: DevHostThread) -> None:
    event = _eg_event("v1", {"validationCode": VALIDATION_CODE, "validationUrl": "https://example/x"})
    event["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent"
    response = _post(host, [event], "SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": VALIDATION_CODE}


def test_cloud_events_validation_parses_double_encoded_data(host: DevHostThread) -> None:
    event = _cloud_event("v2", json.dumps({"validationCode": VALIDATION_CODE}))
    response = _post(host, event, "SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": VALIDATION_CODE}


def test_validation_does_not_invoke_the_function(host: DevHostThread, record: Recorder) -> None:
    event = _eg_event("v3", {"validationCode": VALIDATION_CODE})
    _post(host, [event], "SubscriptionValidation")
    assert record.calls("on_event") == []


def test_array_notification_invokes_once_per_event_and_answers_202(host: DevHostThread, record: Recorder) -> None:
    events = [_eg_event(f"e{i}", {"n": i}) for i in range(3)]
    response = _post(host, events, "Notification")
    assert response.status_code == 202
    calls = sorted(record.calls("on_event"), key=lambda c: c["id"])
    assert [c["id"] for c in calls] == ["e0", "e1", "e2"]
    assert {c["kind"] for c in calls} == {"EventGridEvent"}
    assert calls[1]["data"] == {"n": 1}
    assert calls[0]["type"] == "Microsoft.KeyVault.SecretNearExpiry"
    assert calls[0]["subject"] == "keys/openai-key"
    # seven fractional digits are trimmed by the worker's own parser
    assert calls[0]["event_time"] == "2026-11-25 10:00:00.123456+00:00"


def test_single_cloud_event_object_decodes_to_cloud_event(host: DevHostThread, record: Recorder) -> None:
    response = _post(host, _cloud_event("c1", {"deployment": "gpt-4o"}), "Notification")
    assert response.status_code == 202
    (call,) = record.calls("on_event")
    assert call["kind"] == "CloudEvent"
    assert call["type"] == "Microsoft.Resources.ResourceWriteSuccess"
    assert call["data"] == {"deployment": "gpt-4o"}


def test_one_failing_event_makes_the_delivery_500_but_others_still_run(host: DevHostThread, record: Recorder) -> None:
    events = [_eg_event("ok-1", {}), _eg_event("bad", {"fail": True}), _eg_event("ok-2", {})]
    response = _post(host, events, "Notification")
    assert response.status_code == 500
    assert sorted(c["id"] for c in record.calls("on_event")) == ["bad", "ok-1", "ok-2"]


def test_unsubscribe_and_subscription_deletion_are_202(host: DevHostThread) -> None:
    assert _post(host, [], "Unsubscribe").status_code == 202
    assert _post(host, [], "SubscriptionDeletion").status_code == 202


def test_missing_event_type_header_is_400(host: DevHostThread) -> None:
    assert _post(host, [_eg_event("x", {})], None).status_code == 400


def test_unknown_event_type_header_is_400(host: DevHostThread) -> None:
    assert _post(host, [_eg_event("x", {})], "Something").status_code == 400


def test_malformed_json_is_400(host: DevHostThread, record: Recorder) -> None:
    assert _post(host, b"[{not json", "Notification").status_code == 400
    assert record.calls() == []


def test_unknown_function_is_404(host: DevHostThread) -> None:
    response = _post(host, [_eg_event("x", {})], "Notification", url=_webhook(host, "nope"))
    assert response.status_code == 404


def test_http_function_name_is_not_an_event_grid_function(host: DevHostThread) -> None:
    response = _post(host, [_eg_event("x", {})], "Notification", url=_webhook(host, "anon"))
    assert response.status_code == 404


def test_missing_or_wrong_system_key_is_401(host: DevHostThread) -> None:
    wrong = _post(host, [_eg_event("x", {})], "Notification", url=_webhook(host, key="wrong"))
    function_key = _post(host, [_eg_event("x", {})], "Notification", url=_webhook(host, key=host.function_key))
    assert wrong.status_code == 401
    assert function_key.status_code == 401


def test_master_key_is_accepted_on_the_webhook(host: DevHostThread) -> None:
    response = _post(host, [_eg_event("x", {})], "Notification", url=_webhook(host, key=host.master_key))
    assert response.status_code == 202


def test_body_over_the_limit_is_413(host: DevHostThread) -> None:
    big = [_eg_event("big", {"pad": "x" * (70 * 1024)})]
    assert _post(host, big, "Notification").status_code == 413


def test_cloud_events_options_handshake_grants_the_origin(host: DevHostThread) -> None:
    response = requests.options(_webhook(host), headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert response.headers["WebHook-Allowed-Rate"] == "*"


def test_options_without_origin_is_400(host: DevHostThread) -> None:
    assert requests.options(_webhook(host), timeout=10).status_code == 400
