"""Response steps know whether they are disruptive, reversible and need approval."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepResult, StepStatus

ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-oai"
)


def test_disruptive_actions_are_the_ones_that_can_break_an_application() -> None:
    disruptive = {a for a in ActionKind if a.disruptive}
    assert disruptive == {
        ActionKind.SWITCH_RAI_POLICY,
        ActionKind.DELETE_DEPLOYMENT,
        ActionKind.DISABLE_LOCAL_AUTH,
        ActionKind.DENY_PUBLIC_NETWORK,
        ActionKind.ROTATE_KEY_EMERGENCY,
    }


def test_key_regeneration_cannot_be_undone() -> None:
    assert not ActionKind.ROTATE_KEY_EMERGENCY.reversible
    assert ActionKind.DELETE_DEPLOYMENT.reversible  # recreated from its snapshot


def test_step_validates_target_and_id() -> None:
    step = ResponseStep(id="contain-1", action=ActionKind.DELETE_DEPLOYMENT, target=ACCOUNT + "/deployments/gpt-4o")
    assert step.disruptive
    assert not step.needs_approval
    gated = step.model_copy(update={"approval": ApprovalRequirement.TWO_APPROVERS})
    assert gated.needs_approval
    with pytest.raises(ValidationError):
        ResponseStep(id="Bad Id", action=ActionKind.TAG_RESOURCE, target=ACCOUNT)
    with pytest.raises(ValidationError, match="invalid Azure resource id"):
        ResponseStep(id="x", action=ActionKind.TAG_RESOURCE, target="/subscriptions/nope")


def test_terminal_statuses() -> None:
    assert StepStatus.SUCCEEDED.terminal
    assert StepStatus.NO_OP.terminal
    assert not StepStatus.AWAITING_APPROVAL.terminal
    assert not StepStatus.RUNNING.terminal


def test_step_result_round_trips() -> None:
    result = StepResult(
        step_id="contain-1",
        action=ActionKind.SWITCH_RAI_POLICY,
        target=ACCOUNT + "/deployments/gpt-4o",
        status=StepStatus.SUCCEEDED,
        before={"raiPolicyName": "Microsoft.Default"},
        after={"raiPolicyName": "warden-strict"},
    )
    assert StepResult.model_validate_json(result.model_dump_json()) == result
