"""No key value, token or secret ever reaches a log line; records carry incident and resource ids."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator

import pytest

from shared import observability
from shared.observability import JsonFormatter, configure_logging, log_context, redact, register_secret


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    observability.install_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("warden.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_registered_secret_is_removed_from_messages_args_and_extras(captured: io.StringIO) -> None:
    value = "S33ded-" + secrets.token_urlsafe(24)
    register_secret(value)
    log = logging.getLogger("warden.test")
    log.info("rotated; new key %s", value)
    log.info("plain " + value)
    log.warning("extra", extra={"detail": f"prefix {value} suffix"})
    text = captured.getvalue()
    assert value not in text
    assert text.count("[REDACTED]") == 3


def test_exceptions_are_redacted(captured: io.StringIO) -> None:
    value = "exc-" + secrets.token_hex(12)
    register_secret(value)
    try:
        raise RuntimeError(f"boom {value}")
    except RuntimeError:
        logging.getLogger("warden.test").exception("failed")
    assert value not in captured.getvalue()
    assert "RuntimeError: boom [REDACTED]" in captured.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "token eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ3YXJkZW4ifQ.abcdefghi",
        "api-key: 0123456789abcdef0123456789abcdef",
        '{"key1": "0123456789abcdef0123456789ABCDEF", "key2": "x9"}',
        "https://x.blob.core.windows.net/c?sv=2024&sig=AbCdEf%2Bg%3D&se=1",
        "POST /api/approve?code=hostkeyvalue123&x=1",
        "key is 0123456789abcdef0123456789abcdef.",
        "aeg-sas-key=topicKeyValue==",
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;",
    ],
)
def test_credential_shaped_text_is_redacted(text: str) -> None:
    out = redact(text)
    assert "[REDACTED]" in out
    for fragment in (
        "eyJzdWIiOiJ4In0",
        "0123456789abcdef0123456789",
        "AbCdEf",
        "hostkeyvalue123",
        "topicKeyValue",
    ):
        assert fragment not in out
    assert "Eby8vdM02xNOcqFl" not in out


def test_ordinary_text_is_left_alone() -> None:
    text = "incident inc-3f2a rotated Key2 on /subscriptions/00000000-0000-0000-0000-000000000001 in 1.2 s"
    assert redact(text) == text


def test_secret_like_extra_attribute_names_are_dropped(captured: io.StringIO) -> None:
    logging.getLogger("warden.test").info("call", extra={"api_key": "whatever-it-is", "attempt": 2})
    (line,) = lines(captured)
    assert line["api_key"] == "[REDACTED]"
    assert line["attempt"] == 2


def test_records_carry_incident_and_resource_ids(captured: io.StringIO) -> None:
    log = logging.getLogger("warden.test")
    with log_context(incident_id="inc-1", resource_id="/subscriptions/x/resourceGroups/rg"):
        log.info("inside")
    log.info("outside")
    inside, outside = lines(captured)
    assert inside["incident_id"] == "inc-1"
    assert inside["resource_id"] == "/subscriptions/x/resourceGroups/rg"
    assert "incident_id" not in outside


def test_bad_format_strings_do_not_lose_the_record(captured: io.StringIO) -> None:
    logging.getLogger("warden.test").info("%d items", "not-a-number")
    (line,) = lines(captured)
    assert "items" in str(line["message"])


def test_application_insights_export_is_enabled_by_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    # The exporter itself needs Azure; this seam checks only that Warden turns it on.
    calls: list[dict[str, object]] = []
    import azure.monitor.opentelemetry as otel

    monkeypatch.setattr(otel, "configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(observability, "_configured", False)
    configure_logging("INFO", appinsights_connection_string="InstrumentationKey=00000000-0000-0000-0000-000000000000")
    assert calls == [
        {
            "connection_string": "InstrumentationKey=00000000-0000-0000-0000-000000000000",
            "logger_name": "warden",
        }
    ]
