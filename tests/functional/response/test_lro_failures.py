"""A long-running ARM operation that ends ``Failed`` (the emulator's ``lro_failure`` fault): a
transient failure (``InternalServerError``) is retried and the step ends as it would have
without the fault; a permanent one (``InsufficientQuota``, ``ScopeLocked``) stays a failed step.

Found by the reliability suite (``tests/reliability/test_approvals.py`` injects ``lro_failure``):
the poll saying ``Failed`` answers HTTP 200, so the adapter took every failed operation for a
permanent error and the step ended ``failed``; and a deployment PUT that ended ``Failed`` leaves
the deployment named with the new RAI policy but ``Failed``, which a re-run took for a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.durable import ManualClock
from devhost.loader import load_app
from shared.bootstrap import container
from shared.contracts.incident import INCIDENT_ORCHESTRATOR, ExecuteRequest
from shared.ports.cognitive import AccountPatch, CognitiveError, CognitiveTransientError
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepStatus
from shared.usecases.containment import execute_step
from tests.approvals_support import decide_via_api
from tests.functional.devhost_durable.support import durable_host, run
from tests.functional.keys.conftest import ACCOUNT
from tests.functional.response.conftest import APP, GPT, JAILBREAK, Estate, finding

WRITE = "microsoft.cognitiveservices/accounts/deployments/write"


def _writes(estate: Estate, resource: str, operation: str) -> int:
    """AzureActivity rows (one per ARM write that took effect) of ``operation`` on ``resource``."""
    with estate.emulator.lock:
        ws = estate.emulator.state.workspace("law-security")
        assert ws is not None
        rows = list(ws.tables.get("AzureActivity", []))
    return sum(
        1
        for r in rows
        if str(r["_ResourceId"]).lower() == resource.lower() and str(r["OperationNameValue"]).lower() == operation
    )


def _switch(incident_id: str) -> ExecuteRequest:
    step = ResponseStep(
        id="s1-switch-rai-policy",
        action=ActionKind.SWITCH_RAI_POLICY,
        target=GPT,
        parameters={"rai_policy": "warden-strict"},
        approval=ApprovalRequirement.AUTOMATIC,
    )
    return ExecuteRequest(incident_id=incident_id, step=step, now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("code", "transient"),
    [("InternalServerError", True), ("ServiceUnavailable", True), ("InsufficientQuota", False), ("ScopeLocked", False)],
)
def test_an_operation_that_ends_failed_is_transient_only_for_a_service_error(
    estate: Estate, code: str, transient: bool
) -> None:
    estate.emulator.inject_fault("arm.accounts.update", "lro_failure", code=code)
    with pytest.raises(CognitiveError) as info:
        estate.ports.cognitive.update_account(ACCOUNT, AccountPatch(network_default_action="Deny"))
    assert isinstance(info.value, CognitiveTransientError) is transient, info.value
    assert code in str(info.value)
    assert estate.ports.cognitive.get_account(ACCOUNT).network_default_action == "Allow"  # nothing changed


def test_a_switch_whose_deployment_write_ended_failed_is_retried_and_applied_once(estate: Estate) -> None:
    estate.emulator.inject_fault("arm.deployments.createOrUpdate", "lro_failure", code="InternalServerError")
    request = _switch("inc-lro-switch")
    with pytest.raises(CognitiveTransientError):  # the orchestrator's retry policy runs it again
        execute_step(estate.ports, request)
    left = estate.ports.cognitive.get_deployment(GPT)
    assert (left.rai_policy_name, left.provisioning_state) == ("warden-strict", "Failed")  # named, not running
    assert estate.actions("inc-lro-switch") == []  # the step is not over: nothing audited

    result = execute_step(estate.ports, request)  # the retry
    assert result.status is StepStatus.SUCCEEDED, result  # written again, not taken for a no-op
    assert result.before is not None and result.before["rai_policy_name"] == "Microsoft.DefaultV2"
    after = estate.ports.cognitive.get_deployment(GPT)
    assert (after.rai_policy_name, after.provisioning_state) == ("warden-strict", "Succeeded")
    assert _writes(estate, str(GPT), WRITE) == 1
    assert estate.actions("inc-lro-switch") == ["step.succeeded"]
    assert execute_step(estate.ports, request).status is StepStatus.SUCCEEDED  # the recorded result
    assert _writes(estate, str(GPT), WRITE) == 1


def test_an_incident_whose_writes_end_failed_once_ends_as_it_would_have_without_the_faults(
    estate: Estate, tmp_path: Path
) -> None:
    for api in ("arm.deployments.createOrUpdate", "arm.accounts.update"):
        estate.emulator.inject_fault(api, "lro_failure", code="InternalServerError")
    incident = finding(JAILBREAK, GPT, category="jailbreak")
    clock = ManualClock()

    async def scenario() -> dict[str, Any]:
        async with durable_host(load_app(APP), tmp_path / "s.db", clock=clock) as host:
            payload = {"finding": incident.model_dump(mode="json"), "quiet_minutes": 5}
            await host.client.start_new(INCIDENT_ORCHESTRATOR, incident.instance_id, payload)
            await host.engine.wait_for_idle()
            approved = await decide_via_api(
                container().approvals_deps, host.client, incident.instance_id, "s1-switch-rai-policy"
            )
            assert approved.status == 200, approved.body
            await host.engine.wait_for_idle()
            for _ in range(3):  # each failed write waits for the retry policy's 5 s timer
                clock.advance(timedelta(seconds=6))
                await host.engine.wait_for_idle()
            status = await host.engine.get_status(incident.instance_id)
            assert status is not None
            custom: dict[str, Any] = status.custom_status
            return custom

    custom = run(scenario())
    assert custom["stage"] == "open", custom
    steps = {s["step_id"]: s for s in custom["steps"]}
    for step_id in ("s1-switch-rai-policy", "s2-tag-resource"):
        assert steps[step_id]["status"] == "succeeded" and steps[step_id]["verified"] is True, steps[step_id]
    deployment = estate.ports.cognitive.get_deployment(GPT)
    assert (deployment.rai_policy_name, deployment.provisioning_state) == ("warden-strict", "Succeeded")
    assert _writes(estate, str(GPT), WRITE) == 1
    assert _writes(estate, str(ACCOUNT), "microsoft.cognitiveservices/accounts/write") == 1
    actions = estate.actions(incident.instance_id)
    assert actions.count("step.succeeded") == 2 and "step.failed" not in actions
