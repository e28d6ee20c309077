"""Structured logging with guaranteed redaction, and optional export to Application Insights.

- Every log record carries the current incident id and resource id (context variables set
  with ``log_context``), as ``warden.incident_id`` / ``warden.resource_id`` attributes.
- Redaction happens when a record is *made* (``Logger.makeRecord``), before any handler,
  formatter or exporter (OpenTelemetry included) can see it. It removes registered secret
  values (``register_secret``) and anything shaped like a credential: bearer tokens, JWTs,
  ``api-key``/``aeg-sas-key``/``x-functions-key`` headers, SAS signatures, ``code=`` query keys,
  Azure account keys (32 hex or 84 base64-ish characters), connection-string keys.
- With ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set, ``configure_logging`` enables
  ``azure-monitor-opentelemetry`` for the ``warden`` loggers.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "JsonFormatter",
    "configure_logging",
    "log_context",
    "redact",
    "register_secret",
]

REDACTED = "[REDACTED]"

_incident: contextvars.ContextVar[str | None] = contextvars.ContextVar("warden_incident", default=None)
_resource: contextvars.ContextVar[str | None] = contextvars.ContextVar("warden_resource", default=None)

_secret_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer <token> (and "Bearer <token>" anywhere)
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 " + REDACTED),
    # JWTs
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # header-style secrets: api-key: X, aeg-sas-key=X, x-functions-key: X, "key1": "X"
    (
        re.compile(
            r"(?i)(\"?(?:api-key|aeg-sas-key|aeg-sas-token|x-functions-key|ocp-apim-subscription-key|"
            r"key1|key2|primaryKey|secondaryKey|accountkey|sharedaccesskey|client_secret|password|"
            r"access_token|refresh_token|id_token|value)\"?\s*[:=]\s*\"?)([^\"',;\s&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # SAS signatures and function keys in URLs
    (re.compile(r"(?i)([?&](?:sig|code|token)=)[^&\s\"']+"), r"\1" + REDACTED),
    # Azure AI services keys: 32 lowercase/uppercase hex, or the newer 84-char base62 keys
    (re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])"), REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{84}(?![A-Za-z0-9])"), REDACTED),
    # base64 storage/account keys (88 chars ending in ==)
    (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"), REDACTED),
]

# Key names whose values are dropped when they appear as ``extra=`` attributes.
_SECRET_ATTRS = re.compile(r"(?i)(key|secret|token|password|signature|credential)")


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in a log line (e.g. a key Warden just read)."""
    global _secret_re
    if not value or len(value) < 6:
        return
    with _secret_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-shaped substrings replaced."""
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = f"{record.msg!r} % {record.args!r}"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for attr, value in list(record.__dict__.items()):
        if attr in _STANDARD_ATTRS:
            continue
        if _SECRET_ATTRS.search(attr) and not attr.startswith("warden."):
            record.__dict__[attr] = REDACTED
        elif isinstance(value, str):
            record.__dict__[attr] = redact(value)
    incident = _incident.get()
    resource = _resource.get()
    if incident is not None:
        record.__dict__["warden.incident_id"] = incident
    if resource is not None:
        record.__dict__["warden.resource_id"] = resource


def install_redaction() -> None:
    """Redact every log record as it is made, extras included (idempotent, process-wide).

    ``Logger.makeRecord`` is the one point where the message, its arguments, the exception
    and the ``extra=`` attributes all exist and no handler has run yet, so Warden wraps it.
    """
    original = logging.Logger.makeRecord
    if getattr(original, "warden_redacting", False):
        return

    def make_record(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(self, *args, **kwargs)
        try:
            _scrub(record)
        except Exception:  # e.g. at interpreter shutdown: never let an unredacted record through
            record.msg, record.args, record.exc_info, record.exc_text = (
                "[log record dropped: redaction failed]",
                None,
                None,
                None,
            )
        return record

    make_record.warden_redacting = True  # type: ignore[attr-defined]
    logging.Logger.makeRecord = make_record  # type: ignore[method-assign]


@contextlib.contextmanager
def log_context(*, incident_id: str | None = None, resource_id: str | None = None) -> Iterator[None]:
    """Attach an incident id and/or resource id to every log record inside the block."""
    tokens = []
    if incident_id is not None:
        tokens.append((_incident, _incident.set(incident_id)))
    if resource_id is not None:
        tokens.append((_resource, _resource.set(str(resource_id))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, incident/resource ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attr, value in record.__dict__.items():
            if attr in _STANDARD_ATTRS or attr.startswith("_"):
                continue
            payload[attr.removeprefix("warden.")] = value if _jsonable(value) else repr(value)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | dict)


_configured = False


def configure_logging(
    level: str = "INFO",
    *,
    appinsights_connection_string: str | None = None,
    credential: Any = None,
    json_lines: bool = False,
) -> None:
    """Set up Warden's logging once per process.

    In Azure the Functions host already captures stdout/stderr and ``logging``; with an
    Application Insights connection string, OpenTelemetry export is enabled as well. Pass the
    managed identity as ``credential`` when the Application Insights resource has local
    (key) authentication disabled, as Warden's Bicep deploys it (the identity then needs the
    "Monitoring Metrics Publisher" role).
    """
    global _configured
    install_redaction()
    logger = logging.getLogger("warden")
    logger.setLevel(level)
    if _configured:
        return
    _configured = True
    if json_lines and not any(getattr(h, "warden_handler", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.warden_handler = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    if appinsights_connection_string:
        from azure.monitor.opentelemetry import configure_azure_monitor

        options: dict[str, Any] = {"connection_string": appinsights_connection_string, "logger_name": "warden"}
        if credential is not None:
            options["credential"] = credential
        configure_azure_monitor(**options)
