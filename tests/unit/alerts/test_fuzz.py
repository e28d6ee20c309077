"""Fuzzing normalize(): whatever arrives, it never raises and gives exactly one outcome."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.alerts import Accepted, NormalizeOutcome, Rejected, Skipped, default_catalogue, normalize
from shared.alerts.sanitize import json_size
from shared.finding import MAX_EVIDENCE_BYTES
from tests.alertgen import FORMATS, deployment_resource_id, make_alert

MAX = 64 * 1024
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ALERT_TYPES = [e.alert_type for e in default_catalogue().entries if e.alert_type] + [
    "AI.Azure_Unknown",
    "VM_EICAR",
    "Azure_Agentic_BlockedJailbreak",
]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _check(outcome: NormalizeOutcome) -> None:
    assert isinstance(outcome, Accepted | Skipped | Rejected)
    if isinstance(outcome, Rejected):
        assert 0 < len(outcome.message) < 2000
    if isinstance(outcome, Accepted):
        finding = outcome.finding
        assert finding.kind.startswith("defender:")
        assert finding.dedupe_key == finding.dedupe_key.lower()
        assert json_size(finding.evidence) <= MAX_EVIDENCE_BYTES
        for text in _strings(finding.evidence):
            assert all(ch in "\t\n\r" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs"} for ch in text), repr(text)
        finding.model_dump_json().encode("utf-8")


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_one_outcome(payload: bytes) -> None:
    _check(normalize(payload, source="fuzz", max_bytes=MAX))


@FUZZ
@given(st.text(max_size=500))
def test_arbitrary_text_gives_one_outcome(payload: str) -> None:
    _check(normalize(payload, source="fuzz", max_bytes=MAX))


@FUZZ
@given(st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_arbitrary_json_objects_give_one_outcome(payload: dict[str, Any]) -> None:
    _check(normalize(payload, source="fuzz", max_bytes=MAX))
    _check(normalize(json.dumps(payload), source="fuzz", max_bytes=MAX))


@FUZZ
@given(
    alert_type=st.sampled_from(ALERT_TYPES),
    fmt=st.sampled_from(FORMATS),
    mutations=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=60), json_values | st.just("<missing>")),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_alerts_give_one_outcome(alert_type: str, fmt: Any, mutations: list[tuple[bool, int, Any]]) -> None:
    alert = make_alert(alert_type, fmt, resource_id=deployment_resource_id())
    for in_properties, index, value in mutations:
        target = alert["properties"] if in_properties and "properties" in alert else alert
        if not isinstance(target, dict) or not target:
            continue
        key = sorted(target)[index % len(target)]
        if value == "<missing>":
            del target[key]
        else:
            target[key] = value
    _check(normalize(json.dumps(alert), source="fuzz", max_bytes=MAX))


@FUZZ
@given(
    fmt=st.sampled_from(FORMATS),
    description=st.text(max_size=300),
    props=st.dictionaries(st.text(max_size=30), st.text(max_size=100), max_size=5),
    compromised=st.text(max_size=60),
)
def test_hostile_text_fields_are_accepted_and_cleaned(
    fmt: Any, description: str, props: dict[str, str], compromised: str
) -> None:
    alert = make_alert(
        "AI.Azure_ASCIISmuggling",
        fmt,
        description=description,
        extended_properties=props,
        compromised_entity=compromised,
    )
    outcome = normalize(json.dumps(alert), source="fuzz", max_bytes=MAX)
    assert isinstance(outcome, Accepted), outcome
    _check(outcome)
