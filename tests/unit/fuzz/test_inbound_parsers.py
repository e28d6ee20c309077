"""Hypothesis fuzzing of the inbound parsers not covered elsewhere (alerts and policy files have
their own fuzz tests): Key Vault events, subscription resource events, App Service principal
headers and signed approval links. Each must never crash: it returns a result or raises its one
documented error with a message that says what was wrong."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.anomalies.events import classify_resource_event
from shared.approvals.links import LinkError, sign_link, verify_link
from shared.approvals.principal import PrincipalError, parse_principal
from shared.keys.events import KeyVaultEventError, KeyVaultObjectData, parse_envelope

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20,
)
EVENT_KEYS = [
    "id",
    "subject",
    "eventType",
    "type",
    "eventTime",
    "time",
    "data",
    "dataVersion",
    "topic",
    "source",
    "specversion",
    "Id",
    "VaultName",
    "ObjectType",
    "ObjectName",
    "Version",
    "NBF",
    "EXP",
    "operationName",
    "resourceUri",
    "status",
    "claims",
    "authorization",
    "correlationId",
]
events = st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=10)
nested_events = st.builds(
    lambda outer, data: {**outer, "data": data}, events, st.one_of(events, st.text(max_size=60), json_values)
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(nested_events, json_values))
def test_key_vault_event_parsing_never_crashes(event: Any) -> None:
    try:
        envelope = parse_envelope(event)
    except KeyVaultEventError as exc:
        assert str(exc)
        return
    data = envelope.data
    if isinstance(data, dict):
        try:
            KeyVaultObjectData.parse(data, subject=envelope.subject)
        except KeyVaultEventError as exc:
            assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.one_of(nested_events, json_values))
def test_resource_event_classification_never_raises(event: Any) -> None:
    decision = classify_resource_event(event, warden_principal_id="22222222-2222-2222-2222-222222222222")
    assert decision is not None


def _principal(claims: Any, extra: dict[str, Any] | None = None) -> str:
    body = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles", **(extra or {})}
    return base64.b64encode(json.dumps(body).encode()).decode()


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
        st.lists(st.dictionaries(st.sampled_from(["typ", "val", "x"]), json_scalars, max_size=3), max_size=5).map(
            _principal
        ),
        json_values.map(lambda v: base64.b64encode(json.dumps(v).encode()).decode()),
    ),
    st.dictionaries(
        st.sampled_from(["X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-CLIENT-PRINCIPAL-IDP"]),
        st.text(alphabet=string.printable, max_size=40),
        max_size=3,
    ),
)
def test_principal_headers_are_validated_or_refused_clearly(header: str, others: dict[str, str]) -> None:
    try:
        principal = parse_principal({"X-MS-CLIENT-PRINCIPAL": header, **others})
    except PrincipalError as exc:
        assert str(exc)
        return
    assert principal is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_link_tokens_are_refused_with_a_reason(token: str) -> None:
    try:
        verify_link(KEY, token, now=NOW)
    except LinkError as exc:
        assert str(exc)
    else:  # pragma: no cover - forging an HMAC by chance
        raise AssertionError("a random token verified")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=200), st.sampled_from(string.ascii_letters + string.digits + "-_."))
def test_any_single_character_change_to_a_genuine_link_is_refused(position: int, replacement: str) -> None:
    token = sign_link(
        KEY, incident_id="inc-1", step_id="s1", decision="approve", approver="u1", expires_at=NOW + timedelta(hours=1)
    )
    index = position % len(token)
    tampered = token[:index] + replacement + token[index + 1 :]
    if tampered == token:
        return
    try:
        verify_link(KEY, tampered, now=NOW)
    except LinkError as exc:
        assert str(exc)
        return
    # base64url can decode two spellings of the same bytes in the final character; the claims must
    # then be the genuine ones.
    assert verify_link(KEY, tampered, now=NOW) == verify_link(KEY, token, now=NOW)
