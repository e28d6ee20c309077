"""Containment actions over ``FakeCognitive`` and the memory stores: idempotent, snapshotting,
guarded at execution time, audited once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.audit.chain import AuditEvent
from shared.contracts.incident import ExecuteRequest
from shared.ports.cognitive import AccountPatch, DeploymentInfo
from shared.ports.stores import Snapshot
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepStatus
from shared.usecases.audit_trail import audit_once
from shared.usecases.containment import execute_step, verify_step
from tests.unit.response.conftest import ACCOUNT, GPT, NOW, Fakes

INCIDENT = "inc-" + "a" * 40


def _request(action: ActionKind, target: Any = GPT, step_id: str = "s1-x", **parameters: Any) -> ExecuteRequest:
    step = ResponseStep(
        id=step_id, action=action, target=target, parameters=parameters, approval=ApprovalRequirement.ONE_APPROVER
    )
    return ExecuteRequest(incident_id=INCIDENT, step=step, now=NOW)


def test_a_completed_step_run_again_returns_its_recorded_result_without_calling_azure(fakes: Fakes) -> None:
    request = _request(ActionKind.SWITCH_RAI_POLICY, rai_policy="warden-strict")
    first = execute_step(fakes.ports, request)
    writes = fakes.cognitive.calls["create_or_update_deployment"]
    second = execute_step(fakes.ports, request)
    assert first.status is StepStatus.SUCCEEDED and second == first
    assert fakes.cognitive.calls["create_or_update_deployment"] == writes
    assert fakes.actions(INCIDENT).count("step.succeeded") == 1


def test_a_resource_already_in_the_desired_state_is_a_no_op(fakes: Fakes) -> None:
    fakes.cognitive.update_account(ACCOUNT, AccountPatch(disable_local_auth=True))
    result = execute_step(fakes.ports, _request(ActionKind.DISABLE_LOCAL_AUTH, ACCOUNT))
    assert result.status is StepStatus.NO_OP
    assert fakes.ports.snapshots.get(INCIDENT, "s1-x") is None


def test_disabling_local_auth_snapshots_first_and_counts_for_the_circuit_breaker(fakes: Fakes) -> None:
    result = execute_step(fakes.ports, _request(ActionKind.DISABLE_LOCAL_AUTH, ACCOUNT))
    assert result.status is StepStatus.SUCCEEDED and fakes.cognitive.get_account(ACCOUNT).disable_local_auth
    snapshot = fakes.ports.snapshots.get(INCIDENT, "s1-x")
    assert snapshot is not None and snapshot.before == {"disable_local_auth": False}
    assert fakes.ports.breaker.count_since(NOW - timedelta(hours=1)) == 1


def test_denying_public_network_keeps_the_ip_rules(fakes: Fakes) -> None:
    result = execute_step(fakes.ports, _request(ActionKind.DENY_PUBLIC_NETWORK, ACCOUNT, default_action="Deny"))
    account = fakes.cognitive.get_account(ACCOUNT)
    assert result.status is StepStatus.SUCCEEDED
    assert account.network_default_action == "Deny" and account.ip_rules == ("203.0.113.9",)


def test_an_unknown_missing_rai_policy_is_refused_with_what_to_do(fakes: Fakes) -> None:
    result = execute_step(fakes.ports, _request(ActionKind.SWITCH_RAI_POLICY, rai_policy="contoso-custom"))
    assert result.status is StepStatus.FAILED
    assert result.error is not None and "does not exist" in result.error and "warden-strict" in result.error
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    assert fakes.ports.snapshots.get(INCIDENT, "s1-x") is None  # nothing changed, nothing snapshotted


def test_a_resource_protected_after_planning_is_skipped_at_execution(fakes: Fakes) -> None:
    fakes.cognitive.update_account(ACCOUNT, AccountPatch(tags={"warden-protected": "true"}))
    result = execute_step(fakes.ports, _request(ActionKind.SWITCH_RAI_POLICY, rai_policy="warden-strict"))
    assert result.status is StepStatus.SKIPPED and "protected" in result.detail
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    assert "step.skipped" in fakes.actions(INCIDENT)


def test_the_last_deployment_of_a_model_is_deleted_only_when_the_policy_allows(fakes: Fakes) -> None:
    kept = execute_step(fakes.ports, _request(ActionKind.DELETE_DEPLOYMENT, allow_delete_last_deployment=False))
    assert kept.status is StepStatus.SKIPPED
    deleted = execute_step(
        fakes.ports, _request(ActionKind.DELETE_DEPLOYMENT, step_id="s2-y", allow_delete_last_deployment=True)
    )
    assert deleted.status is StepStatus.SUCCEEDED
    assert fakes.cognitive.list_deployments(ACCOUNT) == []


def test_a_second_deployment_of_the_model_makes_deletion_allowed(fakes: Fakes) -> None:
    fakes.cognitive.create_or_update_deployment(
        DeploymentInfo(id=ACCOUNT.deployment("gpt-4o-b"), model_name="gpt-4o", model_version="2024-11-20")
    )
    assert execute_step(fakes.ports, _request(ActionKind.DELETE_DEPLOYMENT)).status is StepStatus.SUCCEEDED


UNAPPROVED_GPT = {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"}


def test_an_unapproved_model_is_removed_even_from_its_last_deployment(fakes: Fakes) -> None:
    request = _request(
        ActionKind.DELETE_DEPLOYMENT, allow_delete_last_deployment=False, unapproved_model=dict(UNAPPROVED_GPT)
    )
    result = execute_step(fakes.ports, request)
    assert result.status is StepStatus.SUCCEEDED, result.detail
    assert fakes.cognitive.list_deployments(ACCOUNT) == []
    assert fakes.ports.snapshots.get(INCIDENT, "s1-x") is not None  # restorable
    assert verify_step(fakes.ports, INCIDENT, result, request.step).verified


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("gpt-4o", "2024-08-06"),  # another version of the model
        ("gpt-4o-mini", "2024-07-18"),  # another model
    ],
)
def test_a_deployment_that_no_longer_serves_the_unapproved_model_is_left_alone(
    fakes: Fakes, model: str, version: str
) -> None:
    current = fakes.cognitive.get_deployment(GPT)
    fakes.cognitive.create_or_update_deployment(replace(current, model_name=model, model_version=version))
    request = _request(
        ActionKind.DELETE_DEPLOYMENT, allow_delete_last_deployment=True, unapproved_model=dict(UNAPPROVED_GPT)
    )
    result = execute_step(fakes.ports, request)
    assert result.status is StepStatus.NO_OP and "nothing removed" in result.detail, result.detail
    assert [d.model_version for d in fakes.cognitive.list_deployments(ACCOUNT)] == [version]
    assert fakes.ports.snapshots.get(INCIDENT, "s1-x") is None
    assert verify_step(fakes.ports, INCIDENT, result, request.step).verified


def test_an_unapproved_model_redeployed_after_the_delete_fails_verification(fakes: Fakes) -> None:
    request = _request(ActionKind.DELETE_DEPLOYMENT, unapproved_model=dict(UNAPPROVED_GPT))
    before = fakes.cognitive.get_deployment(GPT)
    result = execute_step(fakes.ports, request)
    assert result.status is StepStatus.SUCCEEDED
    fakes.cognitive.create_or_update_deployment(before)  # someone puts it straight back
    outcome = verify_step(fakes.ports, INCIDENT, result, request.step)
    assert not outcome.verified and outcome.observed["exists"] is True


def test_tagging_adds_the_incident_id_and_the_playbook_tags(fakes: Fakes) -> None:
    result = execute_step(fakes.ports, _request(ActionKind.TAG_RESOURCE, ACCOUNT, tags={"warden-status": "contained"}))
    tags = fakes.cognitive.get_account(ACCOUNT).tags
    assert result.status is StepStatus.SUCCEEDED
    assert tags == {"owner": "ai-team@contoso.com", "warden-status": "contained", "warden-incident": INCIDENT}


def test_tagging_a_deployment_is_refused_clearly(fakes: Fakes) -> None:
    result = execute_step(fakes.ports, _request(ActionKind.TAG_RESOURCE, GPT, tags={"a": "b"}))
    assert result.status is StepStatus.SKIPPED and "target: account" in result.detail


def test_verification_notices_a_change_undone_behind_warden(fakes: Fakes) -> None:
    request = _request(ActionKind.SWITCH_RAI_POLICY, rai_policy="warden-strict")
    result = execute_step(fakes.ports, request)
    assert verify_step(fakes.ports, INCIDENT, result, request.step).verified
    current = fakes.cognitive.get_deployment(GPT)
    fakes.cognitive.create_or_update_deployment(replace(current, rai_policy_name="Microsoft.DefaultV2"))
    outcome = verify_step(fakes.ports, INCIDENT, result, request.step)
    assert not outcome.verified and outcome.observed == {"rai_policy_name": "Microsoft.DefaultV2"}


def test_snapshots_refuse_anything_shaped_like_a_key() -> None:
    with pytest.raises(ValidationError, match="never hold key"):
        Snapshot(incident_id="i", step_id="s", action="x", target="t", taken_at=NOW, before={"keys": {"key1": "x"}})


def test_audit_once_appends_one_record_per_key(fakes: Fakes) -> None:
    event = AuditEvent(at=NOW, actor="warden", action="step.succeeded", incident_id=INCIDENT)
    assert audit_once(fakes.audit, event, "k") is not None
    assert audit_once(fakes.audit, event, "k") is None
    assert len(fakes.audit.records(incident_id=INCIDENT)) == 1


def test_snapshots_keep_tags_whatever_their_names() -> None:
    snapshot = Snapshot(
        incident_id="i", step_id="s", action="tag_resource", target="t", taken_at=NOW, before={"tags": {"key": "v"}}
    )
    assert snapshot.before["tags"] == {"key": "v"}
