"""The gate's input and event decoding (SDK #295: payloads raised by the Python client arrive as
JSON text) and the contract request accepted as the incident orchestrator sends it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.contracts.approval import ApprovalRequest
from shared.orchestrations.approval_gate import decode_event
from tests.approvals_support import gate_request


@pytest.mark.parametrize(
    "raw",
    [
        {"decision_id": "d1", "index": 1},
        json.dumps({"decision_id": "d1", "index": 1}),
        json.dumps(json.dumps({"decision_id": "d1", "index": 1})),
    ],
)
def test_event_payloads_decode_whatever_their_encoding(raw: object) -> None:
    assert decode_event(raw) == {"decision_id": "d1", "index": 1}


@pytest.mark.parametrize("raw", [None, "not json", "[1, 2]", 7, "true"])
def test_unreadable_event_payloads_decode_to_nothing(raw: object) -> None:
    assert decode_event(raw) == {}


def test_the_contract_request_is_accepted_with_policy_style_escalation() -> None:
    request = ApprovalRequest.model_validate(
        gate_request(
            escalation=[{"approvers": ["Warden.Approver"], "wait": "1h"}, {"approvers": ["x"], "wait_seconds": 60}]
        )
    )
    assert [level.wait_seconds for level in request.escalation] == [3600, 60]
    assert request.approvals_needed == 1
    assert ApprovalRequest.model_validate(gate_request(requirement="two_approvers")).approvals_needed == 2


def test_a_request_without_a_step_is_refused() -> None:
    payload = gate_request()
    del payload["step"]
    with pytest.raises(ValidationError):
        ApprovalRequest.model_validate(payload)


def test_oversized_evidence_is_truncated_not_refused() -> None:
    request = ApprovalRequest.model_validate(gate_request(evidence={"blob": "x" * 20_000}))
    assert request.evidence["truncated"] is True and len(request.evidence["summary"]) <= 8_000
