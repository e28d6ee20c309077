"""Regressions found by the reliability suite (``tests/reliability``): a step whose host was killed
mid-run, transient Azure errors that outlast the SDK's retries, and an audit record lost between
completing a step and auditing it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import handlers.incidents
from shared.azure.cognitive import _call
from shared.contracts.incident import STEP_LEASE_SECONDS, STEP_RETRY, ExecuteRequest, TriageRequest
from shared.ports.cognitive import CognitiveError, CognitiveTransientError, DeploymentInfo, is_transient_status
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep, StepResult, StepStatus
from shared.usecases import containment
from shared.usecases.containment import StepInProgressError, execute_step, verify_step
from shared.usecases.triage import triage
from tests.unit.response.conftest import GPT, NOW, Fakes, Flaky, make_finding

INCIDENT = "inc-" + "b" * 40


def _request(now: Any = NOW) -> ExecuteRequest:
    step = ResponseStep(
        id="s1-switch-rai-policy",
        action=ActionKind.SWITCH_RAI_POLICY,
        target=GPT,
        parameters={"rai_policy": "warden-strict"},
        approval=ApprovalRequirement.AUTOMATIC,
    )
    return ExecuteRequest(incident_id=INCIDENT, step=step, now=now)


def test_the_retry_window_outlasts_the_lease_of_a_step_left_behind_by_a_killed_host() -> None:
    retry = handlers.incidents._RETRY
    interval_s = retry.first_retry_interval_in_milliseconds / 1000
    spent_waiting = -(-STEP_LEASE_SECONDS // interval_s)  # attempts that find the killed attempt's claim
    # ... and after that, still room for a run of transient failures (throttling, failed LROs).
    assert retry.max_number_of_attempts - spent_waiting >= STEP_RETRY.transient_attempts >= 10


def test_a_step_claimed_by_a_killed_attempt_is_taken_over_once_its_lease_expires(fakes: Fakes) -> None:
    key = f"response:{INCIDENT}:s1-switch-rai-policy"
    fakes.ports.idempotency.begin(key, now=NOW, lease_seconds=STEP_LEASE_SECONDS)  # the attempt that died
    with pytest.raises(StepInProgressError):
        execute_step(fakes.ports, _request())
    later = NOW + timedelta(seconds=STEP_LEASE_SECONDS + 1)
    fakes.ports.clock = lambda: later
    result = execute_step(fakes.ports, _request(later))
    assert result.status is StepStatus.SUCCEEDED
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "warden-strict"
    assert fakes.actions(INCIDENT).count("step.succeeded") == 1


def test_a_completed_step_whose_audit_was_lost_is_audited_by_the_next_attempt(fakes: Fakes) -> None:
    key = f"response:{INCIDENT}:s1-switch-rai-policy"
    done = StepResult(
        step_id="s1-switch-rai-policy", action=ActionKind.SWITCH_RAI_POLICY, target=GPT, status=StepStatus.SUCCEEDED
    )
    fakes.ports.idempotency.begin(key, now=NOW, lease_seconds=STEP_LEASE_SECONDS)
    fakes.ports.idempotency.complete(key, {"result": done.model_dump(mode="json")}, now=NOW, ttl_seconds=3600)
    assert fakes.actions(INCIDENT) == []  # the host died between completing and auditing
    assert execute_step(fakes.ports, _request()) == done
    assert execute_step(fakes.ports, _request()) == done
    assert fakes.actions(INCIDENT) == ["step.succeeded"]


def test_a_transient_azure_error_is_raised_for_a_retry_that_then_completes_the_step(fakes: Fakes) -> None:
    flaky = Flaky(fakes.cognitive, "create_or_update_deployment", times=1, status=429)
    fakes.ports.cognitive = flaky
    with pytest.raises(CognitiveTransientError):
        execute_step(fakes.ports, _request())
    assert fakes.actions(INCIDENT) == []  # nothing recorded: the step is not over
    result = execute_step(fakes.ports, _request())  # the orchestrator's retry; the claim was released
    assert result.status is StepStatus.SUCCEEDED
    assert fakes.actions(INCIDENT) == ["step.succeeded"]


def test_a_permanent_azure_error_is_still_a_failed_result(fakes: Fakes) -> None:
    class Broken(Flaky):
        def __getattr__(self, name: str) -> Any:
            if name == "get_deployment":

                def fail(*args: Any, **kwargs: Any) -> Any:
                    raise CognitiveError("read deployment: HTTP 400 BadRequest")

                return fail
            return getattr(self._inner, name)

    fakes.ports.cognitive = Broken(fakes.cognitive, "get_deployment", 0)
    assert execute_step(fakes.ports, _request()).status is StepStatus.FAILED


def test_verification_and_the_triage_tag_read_retry_transient_errors(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containment, "TRANSIENT_READ_DELAY", 0.0)
    fakes.cognitive.create_or_update_deployment(
        DeploymentInfo(id=GPT, model_name="gpt-4o", rai_policy_name="warden-strict", sku_name="Standard")
    )
    request = _request()
    result = StepResult(step_id=request.step.id, action=request.step.action, target=GPT, status=StepStatus.SUCCEEDED)
    fakes.ports.cognitive = Flaky(fakes.cognitive, "get_deployment", times=2)
    assert verify_step(fakes.ports, INCIDENT, result, request.step).verified is True
    fakes.ports.cognitive = Flaky(fakes.cognitive, "get_account", times=2)
    planned = triage(fakes.ports, TriageRequest(incident_id=INCIDENT, finding=make_finding(), now=NOW))
    assert planned.tags_error is None and any(s.action is ActionKind.SWITCH_RAI_POLICY for s in planned.plan.steps)
    fakes.ports.cognitive = Flaky(fakes.cognitive, "get_deployment", times=9)
    outcome = verify_step(fakes.ports, INCIDENT, result, request.step)
    assert outcome.verified is False and "could not re-read" in (outcome.detail or "")


@pytest.mark.parametrize(("status", "transient"), [(429, True), (503, True), (500, True), (409, True), (408, True)])
def test_throttling_busy_and_server_errors_are_transient(status: int, transient: bool) -> None:
    assert is_transient_status(status) is transient


@pytest.mark.parametrize("status", [400, 401, 403, 404, 412, None])
def test_client_errors_are_not_transient(status: int | None) -> None:
    assert is_transient_status(status) is False


def test_the_adapter_maps_a_throttled_call_to_a_transient_error() -> None:
    from azure.core.exceptions import HttpResponseError

    class Response:
        status_code = 429
        reason = "Too Many Requests"
        headers: dict[str, str] = {}  # noqa: RUF012

        def text(self) -> str:
            return ""

    def throttled() -> None:
        raise HttpResponseError(response=Response())  # type: ignore[arg-type]

    with pytest.raises(CognitiveTransientError, match="HTTP 429"):
        _call("read account x", "accounts/read", throttled)


def test_a_resource_still_changing_under_an_earlier_write_is_not_acted_on_until_it_settles(fakes: Fakes) -> None:
    from dataclasses import replace

    class Pending(Flaky):
        """The account reads as ``Accepted`` (a killed attempt's PATCH still running) once."""

        def __getattr__(self, name: str) -> Any:
            target = getattr(self._inner, name)
            if name != "get_account":
                return target

            def read(*args: Any, **kwargs: Any) -> Any:
                info = target(*args, **kwargs)
                if self.left > 0:
                    self.left -= 1
                    return replace(info, provisioning_state="Accepted")
                return info

            return read

    fakes.ports.cognitive = Pending(fakes.cognitive, "get_account", times=1)
    with pytest.raises(CognitiveTransientError, match="in progress"):
        execute_step(fakes.ports, _request())
    assert fakes.cognitive.calls["create_or_update_deployment"] == 0
    assert execute_step(fakes.ports, _request()).status is StepStatus.SUCCEEDED


def test_an_incident_opened_again_after_a_host_crash_is_audited_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.azure.clients import AzureClients, StaticTokenCredential
    from shared.bootstrap import Container, reset_container, set_container
    from shared.settings import load_settings
    from shared.storage.memory import MemoryAuditStore, MemoryIncidentFindingsStore, MemoryOpenIncidentStore
    from shared.usecases.incidents import IncidentDeps
    from tests.unit.keys.durable_fake import user_function

    settings = load_settings(subscription_ids=["00000000-0000-0000-0000-0000000000c1"])
    container = Container(settings=settings, clients=AzureClients(settings, credential=StaticTokenCredential()))
    audit = MemoryAuditStore()
    container.incident_deps = IncidentDeps(
        audit=audit, open_incidents=MemoryOpenIncidentStore(), findings=MemoryIncidentFindingsStore()
    )
    set_container(container)
    try:
        opened = user_function(handlers.incidents.incident_opened)
        finding = make_finding()
        payload = {
            "incident_id": INCIDENT,
            "correlation_key": finding.incident_key,
            "finding": finding.model_dump(mode="json"),
        }
        assert opened(payload) == "opened"
        assert opened(payload) == "opened"  # the activity re-delivered after the host died
        assert [r.action for r in audit.records(incident_id=INCIDENT)] == ["incident.opened"]
    finally:
        reset_container()


def test_an_attempt_that_outlived_its_lease_never_overwrites_the_attempt_that_took_over(fakes: Fakes) -> None:
    from shared.ports.stores import AlreadyCompletedError, LeaseLostError

    later = NOW + timedelta(seconds=STEP_LEASE_SECONDS + 5)
    taker: list[StepResult] = []

    class Stalling(Flaky):
        """The first PUT stalls past the lease; meanwhile a duplicate delivery runs the step."""

        def __getattr__(self, name: str) -> Any:
            target = getattr(self._inner, name)
            if name != "create_or_update_deployment":
                return target

            def call(*args: Any, **kwargs: Any) -> Any:
                if not taker:
                    fakes.ports.cognitive = self._inner
                    fakes.ports.clock = lambda: later
                    taker.append(execute_step(fakes.ports, _request(later)))
                return target(*args, **kwargs)

            return call

    fakes.ports.cognitive = Stalling(fakes.cognitive, "create_or_update_deployment", 0)
    with pytest.raises(LeaseLostError):
        execute_step(fakes.ports, _request())
    assert [r.status for r in taker] == [StepStatus.SUCCEEDED]
    with pytest.raises(AlreadyCompletedError) as stored:
        fakes.ports.idempotency.begin(f"response:{INCIDENT}:s1-switch-rai-policy", now=later, lease_seconds=1)
    assert StepResult.model_validate(stored.value.result["result"]) == taker[0]  # the taker's result stands
    assert fakes.actions(INCIDENT) == ["step.succeeded"]  # audited once, by the taker
    assert execute_step(fakes.ports, _request(later)) == taker[0]  # the stalled attempt's retry
