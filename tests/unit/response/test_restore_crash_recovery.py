"""Restore steps under the same faults as containment steps: a claim left by a killed host, a
transient Azure error, a permanent one; and the restore orchestration retrying its activity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.contracts.incident import STEP_LEASE_SECONDS, ExecuteRequest, RestoreStepRequest
from shared.ports.cognitive import CognitiveError, CognitiveTransientError
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepStatus
from shared.usecases.containment import StepInProgressError, execute_step
from shared.usecases.restore import restore_step
from tests.unit.response.conftest import GPT, NOW, Fakes, Flaky

INCIDENT = "inc-" + "c" * 40
STEP = ResponseStep(
    id="s1-switch-rai-policy",
    action=ActionKind.SWITCH_RAI_POLICY,
    target=GPT,
    parameters={"rai_policy": "warden-strict"},
    approval=ApprovalRequirement.AUTOMATIC,
)
KEY = f"restore:{INCIDENT}:{STEP.id}"


@pytest.fixture
def contained(fakes: Fakes) -> Fakes:
    """The deployment was switched to warden-strict by the incident (snapshot kept)."""
    assert execute_step(fakes.ports, ExecuteRequest(incident_id=INCIDENT, step=STEP, now=NOW)).status is (
        StepStatus.SUCCEEDED
    )
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "warden-strict"
    return fakes


def test_a_restore_step_claimed_by_a_killed_attempt_is_retried_not_failed(contained: Fakes) -> None:
    contained.ports.idempotency.begin(KEY, now=NOW, lease_seconds=STEP_LEASE_SECONDS)  # the attempt that died
    with pytest.raises(StepInProgressError):  # the orchestrator's retry policy tries again
        restore_step(contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP))
    later = NOW + timedelta(seconds=STEP_LEASE_SECONDS + 1)
    contained.ports.clock = lambda: later
    result = restore_step(contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP))
    assert result.status is StepStatus.SUCCEEDED, result
    assert contained.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    assert contained.actions(INCIDENT).count("restore.succeeded") == 1


def test_a_transient_error_is_raised_for_a_retry_that_then_restores(contained: Fakes) -> None:
    contained.ports.cognitive = Flaky(contained.cognitive, "create_or_update_deployment", times=1)
    with pytest.raises(CognitiveTransientError):
        restore_step(contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP))
    assert "restore.failed" not in contained.actions(INCIDENT)  # nothing recorded: not over yet
    result = restore_step(
        contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP)
    )  # the claim was released
    assert result.status is StepStatus.SUCCEEDED
    assert contained.actions(INCIDENT).count("restore.succeeded") == 1


def test_a_permanent_error_is_a_failed_result_that_a_new_restore_can_retry(contained: Fakes) -> None:
    contained.ports.cognitive = Flaky(
        contained.cognitive, "create_or_update_deployment", times=1, error=CognitiveError("HTTP 409 ScopeLocked")
    )
    failed = restore_step(contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP))
    assert failed.status is StepStatus.FAILED and "ScopeLocked" in (failed.error or "")
    again = restore_step(contained.ports, RestoreStepRequest(incident_id=INCIDENT, step=STEP))
    assert again.status is StepStatus.SUCCEEDED
