"""Typed Key Vault events from Event Grid, in either delivery schema.

Event Grid delivers Key Vault events in the Event Grid schema (``eventType``, ``topic``,
``eventTime``, ``dataVersion``) or as CloudEvents 1.0 (``type``, ``source``, ``time``,
``specversion``). ``parse_envelope`` turns either into one ``EventEnvelope``;
``KeyVaultObjectData.parse`` reads the ``data`` payload, which the current swagger
(``Microsoft.KeyVault/stable/2018-01-01/KeyVault.json``) spells in PascalCase:
``Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP``. An older revision used camelCase;
both are accepted. ``NBF``/``EXP`` are Unix seconds, typed ``number`` in the swagger but sent
as strings in the official examples; both (and null) are accepted.

The event ``subject`` is the object (secret) name; ``topic``/``source`` is the vault's ARM id.
``SecretNearExpiry`` fires 30 days before the version's ``exp``; ``SecretExpired`` at ``exp``.

Bad input raises ``KeyVaultEventError`` naming the field, the value and what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "EventEnvelope",
    "EventSchema",
    "KeyVaultEventError",
    "KeyVaultEventType",
    "KeyVaultObjectData",
    "parse_envelope",
]

_SECRET_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_VERSION_RE = re.compile(r"^[0-9A-Za-z]{1,64}$")
_VAULT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_MAX_TEXT = 2048


class KeyVaultEventError(ValueError):
    """An event (or its ``data``) is malformed: ``field`` had ``value``, ``expected`` says what fits."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(f"{field}={shown}: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected


class EventSchema(StrEnum):
    """How the event was delivered."""

    EVENT_GRID = "eventgrid"
    CLOUD_EVENTS = "cloudevents"


class KeyVaultEventType(StrEnum):
    """Key Vault's Event Grid event types (``Microsoft.KeyVault.*``)."""

    SECRET_NEW_VERSION_CREATED = "Microsoft.KeyVault.SecretNewVersionCreated"  # noqa: S105  # nosec B105 # an identifier, not a secret
    SECRET_NEAR_EXPIRY = "Microsoft.KeyVault.SecretNearExpiry"  # noqa: S105  # nosec B105 # an identifier, not a secret
    SECRET_EXPIRED = "Microsoft.KeyVault.SecretExpired"  # noqa: S105  # nosec B105 # an identifier, not a secret
    KEY_NEW_VERSION_CREATED = "Microsoft.KeyVault.KeyNewVersionCreated"
    KEY_NEAR_EXPIRY = "Microsoft.KeyVault.KeyNearExpiry"
    KEY_EXPIRED = "Microsoft.KeyVault.KeyExpired"
    CERTIFICATE_NEW_VERSION_CREATED = "Microsoft.KeyVault.CertificateNewVersionCreated"
    CERTIFICATE_NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry"
    CERTIFICATE_EXPIRED = "Microsoft.KeyVault.CertificateExpired"
    VAULT_ACCESS_POLICY_CHANGED = "Microsoft.KeyVault.VaultAccessPolicyChanged"

    @classmethod
    def lookup(cls, value: str) -> KeyVaultEventType | None:
        """Case-insensitive lookup; ``None`` for any other type."""
        lowered = value.strip().lower()
        for member in cls:
            if member.value.lower() == lowered:
                return member
        return None


ROTATION_TRIGGERS = frozenset({KeyVaultEventType.SECRET_NEAR_EXPIRY, KeyVaultEventType.SECRET_EXPIRED})


def _text(field: str, value: object, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise KeyVaultEventError(field, value, "a non-empty string")
        return None
    if not isinstance(value, str):
        raise KeyVaultEventError(field, value, "a string")
    if len(value) > _MAX_TEXT:
        raise KeyVaultEventError(field, value, f"at most {_MAX_TEXT} characters")
    return value.strip()


def _time(field: str, value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise KeyVaultEventError(field, value, "an ISO-8601 time")
    text = value.strip()
    # Event Grid writes 7 fractional digits; Python accepts at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise KeyVaultEventError(field, value, "an ISO-8601 time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _unix(field: str, value: object) -> datetime | None:
    """``NBF``/``EXP``: Unix seconds as a number or numeric string; null/empty -> None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise KeyVaultEventError(field, value, "Unix seconds (a number or a numeric string)")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,9})?", text):
            raise KeyVaultEventError(field, value, "Unix seconds (a number or a numeric string)")
        number = float(text)
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise KeyVaultEventError(field, value, "Unix seconds (a number or a numeric string)")
    if not 0 <= number < 253_402_300_800:  # year 10000
        raise KeyVaultEventError(field, value, "Unix seconds between 1970 and 9999")
    return datetime.fromtimestamp(number, tz=UTC)


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """One event, schema-independent.

    - ``id``: the event id (Event Grid dedupes nothing; redeliveries keep the id).
    - ``event_type``: e.g. ``Microsoft.KeyVault.SecretNearExpiry``.
    - ``subject``: the object name for Key Vault events.
    - ``source``: ``topic`` (Event Grid schema) or ``source`` (CloudEvents): the vault's ARM id.
    - ``time``: when the event happened; ``data``: the payload (a mapping, maybe empty).
    """

    id: str
    event_type: str
    subject: str | None
    source: str | None
    time: datetime | None
    schema: EventSchema
    data: Mapping[str, Any]

    @property
    def key_vault_type(self) -> KeyVaultEventType | None:
        return KeyVaultEventType.lookup(self.event_type)

    @property
    def triggers_rotation(self) -> bool:
        """``SecretNearExpiry`` / ``SecretExpired``: the events that start a scheduled rotation."""
        return self.key_vault_type in ROTATION_TRIGGERS


def parse_envelope(event: Mapping[str, Any]) -> EventEnvelope:
    """An Event Grid or CloudEvents event object -> ``EventEnvelope``.

    ``data`` may be a JSON object or a JSON-encoded string of one. Raises ``KeyVaultEventError``.
    """
    if not isinstance(event, Mapping):
        raise KeyVaultEventError("event", type(event).__name__, "a JSON object")
    cloud = "specversion" in event
    schema = EventSchema.CLOUD_EVENTS if cloud else EventSchema.EVENT_GRID
    if cloud and str(event.get("specversion")) != "1.0":
        raise KeyVaultEventError("specversion", event.get("specversion"), "'1.0'")
    type_field, source_field, time_field = ("type", "source", "time") if cloud else ("eventType", "topic", "eventTime")
    event_id = _text("id", event.get("id"))
    event_type = _text(type_field, event.get(type_field))
    source = _text(source_field, event.get(source_field), required=False)
    subject = _text("subject", event.get("subject"), required=False)
    when = _time(time_field, event.get(time_field))
    data: Any = event.get("data")
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise KeyVaultEventError("data", data, "a JSON object (or a JSON string of one)") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise KeyVaultEventError("data", data, "a JSON object")
    if event_id is None or event_type is None:  # pragma: no cover - required=True raises first
        raise KeyVaultEventError("id", event_id, "a non-empty string")
    return EventEnvelope(
        id=event_id, event_type=event_type, subject=subject, source=source, time=when, schema=schema, data=data
    )


def _field(data: Mapping[str, Any], pascal: str) -> Any:
    """``data[pascal]``, else its camelCase / any-case spelling (``Id``/``id``, ``NBF``/``nbf``)."""
    if pascal in data:
        return data[pascal]
    lowered = pascal.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.strip().lower() == lowered:
            return value
    return None


@dataclass(frozen=True, slots=True)
class KeyVaultObjectData:
    """The ``data`` of a Key Vault object event.

    - ``id``: the object URL with version (``https://{vault}.vault.azure.net/secrets/{name}/{version}``).
    - ``vault_url``: ``https://{host}`` taken from ``id`` (works in sovereign clouds too).
    - ``vault_name``, ``object_type`` (``Secret``...), ``object_name``, ``version``.
    - ``not_before`` / ``expires``: ``NBF`` / ``EXP`` as UTC datetimes (None when absent).
    """

    id: str
    vault_url: str
    vault_name: str
    object_type: str
    object_name: str
    version: str
    not_before: datetime | None
    expires: datetime | None

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, subject: str | None = None) -> KeyVaultObjectData:
        """Validate a secret event's data. Raises ``KeyVaultEventError`` naming the bad field."""
        object_id = _text("data.Id", _field(data, "Id"))
        vault_name = _text("data.VaultName", _field(data, "VaultName"))
        object_type = _text("data.ObjectType", _field(data, "ObjectType"))
        object_name = _text("data.ObjectName", _field(data, "ObjectName"))
        version = _text("data.Version", _field(data, "Version"))
        if not (object_id and vault_name and object_type and object_name and version):  # pragma: no cover
            raise KeyVaultEventError("data", data, "Id, VaultName, ObjectType, ObjectName and Version")
        if not _VAULT_NAME_RE.match(vault_name):
            raise KeyVaultEventError("data.VaultName", vault_name, "a Key Vault name (3-24 letters, digits, -)")
        if object_type.lower() != "secret":
            raise KeyVaultEventError("data.ObjectType", object_type, "'Secret'")
        if not _SECRET_NAME_RE.match(object_name):
            raise KeyVaultEventError("data.ObjectName", object_name, "a secret name (1-127 letters, digits, -)")
        if not _VERSION_RE.match(version):
            raise KeyVaultEventError("data.Version", version, "a secret version (letters and digits)")
        parts = urlsplit(object_id)
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme != "https" or not parts.hostname:
            raise KeyVaultEventError("data.Id", object_id, "https://{vault}.vault.azure.net/secrets/{name}/{version}")
        if len(segments) != 3 or segments[0].lower() != "secrets":
            raise KeyVaultEventError("data.Id", object_id, "https://{vault}.vault.azure.net/secrets/{name}/{version}")
        if segments[1].lower() != object_name.lower() or segments[2].lower() != version.lower():
            raise KeyVaultEventError(
                "data.Id", object_id, f"a URL naming secret {object_name!r} version {version!r} (as ObjectName/Version)"
            )
        host = parts.hostname.lower()
        if host.split(".")[0] != vault_name.lower():
            raise KeyVaultEventError("data.Id", object_id, f"a URL on vault {vault_name!r} (as VaultName)")
        if subject is not None and subject.strip().lower() != object_name.lower():
            raise KeyVaultEventError("subject", subject, f"the secret name {object_name!r} (as data.ObjectName)")
        vault_url = f"https://{host}" + (f":{parts.port}" if parts.port else "")
        return cls(
            id=object_id,
            vault_url=vault_url,
            vault_name=vault_name,
            object_type=object_type,
            object_name=object_name,
            version=version,
            not_before=_unix("data.NBF", _field(data, "NBF")),
            expires=_unix("data.EXP", _field(data, "EXP")),
        )
