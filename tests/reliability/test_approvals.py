"""Reliability of the human approval gate: incidents whose changing steps wait for approvers,
decided through the real approvals HTTP API by an approver loop in the test, once fault-free and
once while the emulator injects 429 / 5xx / latency / failed long-running operations on ``arm.*``
and devhost is SIGKILLed four times: twice in the middle of a decision request, once right after
a decision approved a step (before the step runs), once while steps run. Both runs must end in
the same place, and every approval must be decided exactly once.

- **Incidents**: ``INCIDENTS`` accounts of a generated tenant (``support.tenant``), spread over the
  three default playbooks of a test policy whose changing steps are gated (``GATED``):
  ``contain-prompt-attack`` (RAI policy switch and account tag, one approver each),
  ``close-public-network`` (network lock-down, **two approvers**) and
  ``remove-unapproved-deployment`` (deletion, one approver).
- **Decisions** (``plan_decisions``, by seed; the same in both runs): most steps are approved, a
  seeded subset rejected (by the only approver, or by the first or second of two), and some
  one-approver steps are first approved by the resource's owner, whose approval counts but never
  alone (separation of duties), then by an approver. The approver loop lists pending approvals
  (``GET /api/approvals``) and posts each step's next planned decision
  (``POST /api/approvals/{incident}/{step}/decision``) with an ``X-MS-CLIENT-PRINCIPAL`` holding
  the approver role. A seeded subset of decisions is deliberately sent twice (a client retry).
- **Documented behaviour asserted** (``docs/approvals.md``, ``docs/openapi.yaml``): a decision
  answers 200 with the step's status after it; a second decision on a decided step, or by the
  same approver on a two-approver step, answers 409 ``already_decided`` and changes nothing. A
  decision whose answer was lost with the killed host is sent again: it is then either recorded
  (200: the first never arrived) or refused with 409 ``already_decided`` — and then the record
  must hold it exactly once. A decision event lost with the host is picked up at the gate's next
  timer (``approvals.reminder_interval`` is 15 s here).
- **Asserted per run**: every incident responded; each gated step ends ``succeeded`` (or
  ``no_op``) and verified when approved, ``rejected`` when not; each approval record (read back
  through ``GET /api/approvals/{incident}/{step}``) holds exactly the planned decisions, in order,
  each once, with the planned status and requirement; ``AzureActivity`` holds exactly one
  effective ARM write per approved step and none for a rejected one; the audit chain verifies and
  holds, per incident, exactly: ``incident.opened``, ``incident.triaged``, both notification
  intents, ``incident.verified`` (when a step was approved) once each, and per step
  ``approval.requested`` once, one ``approval.approve`` / ``approval.reject`` per decision,
  ``approval.closed.<status>`` once, ``approval.granted`` / ``approval.denied`` once and, for an
  approved step only, one ``step.succeeded`` / ``step.no_op``.
- **Asserted across runs**: the same step outcomes and deciders per incident, the same resources
  and the same effective writes (as many as approved steps).

**LRO failures**: the chaos rules include the emulator's ``lro_failure`` kind (the long-running
operation of a PATCH / PUT / DELETE ends ``Failed`` with ``InternalServerError``; the change is not
applied, and a deployment PUT leaves the deployment ``Failed`` under its new spec). They are here
rather than in ``test_faults`` because this module compares every step with a fault-free run
decided the same way, and ``test_faults`` is kept as it was.

**Found with this module** (each failed its chaos run; fixed; the tests named prove each fix and
fail without it):

- a long-running operation that ended ``Failed`` was a permanent error — the poll saying so
  answers HTTP 200 — so a transient failure ended the step ``failed`` while the fault-free run
  applied it (``shared/azure/cognitive.py``; ``tests/functional/response/test_lro_failures.py``);
- the retry of a RAI policy switch whose PUT ended ``Failed`` found the deployment already named
  with the policy and took it for a no-op, leaving it ``Failed`` (``shared/response/actions.py``;
  same test file);
- a host killed between recording a decision and auditing it (a kill inside a decision request
  lands there often) left a decision the audit trail never showed: the re-sent decision is
  refused with 409, as documented, so nothing audits it; the gate now audits it when it closes
  (``shared/approvals/service.py``; ``tests/unit/approvals/test_decision_audit.py``;
  ``decisions_audited_late_by_the_gate`` in the summary counts them).

Reproducible by seed (``WARDEN_RELIABILITY_SEED``): playbook mix, decisions, delivery and
approver order, fault rules' generators and kill points; every assertion message starts with the
seed. (Which call a fault hits, and where exactly a kill lands in a request, still depend on
thread interleaving: a kill inside a request sleeps a seeded fraction of a typical decision's
duration.) Bounded: fixed numbers of incidents, decisions, kills and polling rounds; no timed
assertion. About 80 s on two busy cores.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.support import (
    EFFECTIVE,
    KINDS,
    ApiAnswer,
    Case,
    ReliabilityStack,
    activity_writes,
    approval,
    audit_summary,
    cases,
    decide,
    deliver,
    differences,
    fault_label,
    incident_status,
    pending_approvals,
    poll_round,
    resource_view,
    stack_env,
    step_outcomes,
    tenant,
    write_policy,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SEED = int(os.environ.get("WARDEN_RELIABILITY_SEED", "20261125"))
INCIDENTS = 30
BATCH = 10
POLL_ROUNDS = 900  # x ~0.3 s between rounds: a generous bound, never a timing assertion
GATED = {
    "contain-prompt-attack": {"switch_rai_policy": "one_approver", "tag_resource": "one_approver"},
    "close-public-network": {"deny_public_network": "two_approvers"},
    "remove-unapproved-deployment": {"delete_deployment": "one_approver"},
}
REQUIREMENT = {
    "s1-switch-rai-policy": "one_approver",
    "s2-tag-resource": "one_approver",
    "s1-deny-public-network": "two_approvers",
    "s1-delete-deployment": "one_approver",
}
APPROVAL_SETTINGS = {
    "timeout": "2h",  # never reached: no step expires in either run
    "reminder_interval": "15s",  # the gate re-reads its record this often (a lost event's fallback)
    "escalation": [{"approvers": ["Warden.Approver"], "wait": "1h"}],
    "final_decision": "deny",
}
APPROVERS = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
LISTER = "dana@contoso.com"
"""Who lists and reads approvals (an approver who never decides)."""


# --------------------------------------------------------------------------------------------
# The decisions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    user: str
    approve: bool
    conflicted: bool = False  # the resource's owner: counts, never alone

    @property
    def approver_id(self) -> str:
        return f"oid-{self.user}"  # tests.approvals_support.principal_header's object id


@dataclass(frozen=True)
class StepPlan:
    """One gated step of one incident and the decisions it gets, in order."""

    case: Case
    step_id: str
    requirement: str
    decisions: tuple[Decision, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.case.incident_id, self.step_id)

    def status_after(self, count: int) -> str:
        """The record's status after the first ``count`` decisions (``shared.approvals.rules.outcome``)."""
        made = self.decisions[:count]
        if any(not d.approve for d in made):
            return "rejected"
        needed = 2 if self.requirement == "two_approvers" else 1
        if len({d.user for d in made}) >= needed and any(not d.conflicted for d in made):
            return "approved"
        return "pending"

    @property
    def status(self) -> str:
        return self.status_after(len(self.decisions))

    @property
    def approved(self) -> bool:
        return self.status == "approved"


def plan_decisions(all_cases: list[Case], seed: int) -> dict[tuple[str, str], StepPlan]:
    """Each gated step's decisions: most approve; a seeded subset is rejected; some one-approver
    steps are approved by the owner first (pending until an approver agrees)."""
    rng = random.Random(seed * 31 + 7)
    plans: dict[tuple[str, str], StepPlan] = {}
    for case in all_cases:
        for step_id in case.changing_steps:
            requirement = REQUIREMENT[step_id]
            first, second = rng.sample(APPROVERS, 2)
            draw = rng.random()
            decisions: tuple[Decision, ...]
            if requirement == "two_approvers":
                if draw < 0.15:
                    decisions = (Decision(first, approve=False),)
                elif draw < 0.3:
                    decisions = (Decision(first, approve=True), Decision(second, approve=False))
                else:
                    decisions = (Decision(first, approve=True), Decision(second, approve=True))
            elif draw < 0.2:
                decisions = (Decision(first, approve=False),)
            elif draw < 0.35:
                decisions = (Decision(case.owner, approve=True, conflicted=True), Decision(first, approve=True))
            else:
                decisions = (Decision(first, approve=True),)
            plan = StepPlan(case, step_id, requirement, decisions)
            assert plan.status in ("approved", "rejected"), plan
            plans[plan.key] = plan
    return plans


# --------------------------------------------------------------------------------------------
# The approver loop
# --------------------------------------------------------------------------------------------
@dataclass
class Approver:
    """Lists pending approvals and posts each step's next planned decision; sends a decision
    again when its answer was lost; kills devhost at the seeded decisions (chaos)."""

    stack: ReliabilityStack
    plans: dict[tuple[str, str], StepPlan]
    seed: int
    rng: random.Random
    kill_during: tuple[int, ...] = ()
    """Indexes of the first-time decisions whose POST devhost is killed under."""
    kill_after: int = -1
    """From this first-time decision on, the first one approving a step is followed by a kill."""
    duplicate_rate: float = 0.25
    sent: dict[tuple[str, str], int] = field(default_factory=dict)
    uncertain: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    first_sends: int = 0
    seconds: list[float] = field(default_factory=list)
    """How long each decision POST took (where to kill one in the middle)."""

    def done(self) -> bool:
        return not self.uncertain and all(self.sent.get(k, 0) == len(p.decisions) for k, p in self.plans.items())

    def round(self) -> None:
        listed = pending_approvals(self.stack, LISTER)
        if listed is None:
            return  # devhost is down or restarting
        keys = {(str(a["incident_id"]), str(a["step_id"])) for a in listed if a.get("status") == "pending"}
        unknown = keys - set(self.plans)
        if unknown:
            self.problems.append(f"pending approvals nobody planned: {sorted(unknown)[:5]}")
        todo = sorted((keys & set(self.plans)) | self.uncertain)
        self.rng.shuffle(todo)
        for key in todo:
            self._next(key)

    # -- one step -------------------------------------------------------------------------------
    def _label(self, plan: StepPlan, index: int) -> str:
        return f"#{plan.case.index} {plan.step_id} decision {index + 1}/{len(plan.decisions)}"

    def _next(self, key: tuple[str, str]) -> None:
        plan = self.plans[key]
        index = self.sent.get(key, 0)
        if index >= len(plan.decisions):
            if key in self.uncertain:  # cannot happen: a lost answer is settled before the next one
                self.problems.append(f"{self._label(plan, index)}: uncertain after its last decision")
                self.uncertain.discard(key)
            return
        decision = plan.decisions[index]
        resend = key in self.uncertain
        if not resend:
            self.first_sends += 1
        if not resend and self.first_sends - 1 in self.kill_during:
            answer = self._post_while_killing(plan, decision, index)
        else:
            started = time.monotonic()
            answer = decide(self.stack, decision.user, *key, approve=decision.approve)
            if answer is not None and answer.status == 200:
                self.seconds.append(time.monotonic() - started)
        self._settle(plan, decision, index, answer, resend=resend)

    def _post_while_killing(self, plan: StepPlan, decision: Decision, index: int) -> ApiAnswer | None:
        box: list[ApiAnswer | None] = []
        thread = threading.Thread(
            target=lambda: box.append(decide(self.stack, decision.user, *plan.key, approve=decision.approve))
        )
        # Somewhere inside the request: a seeded fraction of a typical decision's duration.
        typical = sorted(self.seconds)[len(self.seconds) // 2] if self.seconds else 0.2
        delay = self.rng.uniform(0.05, 0.8) * typical
        thread.start()
        time.sleep(delay)
        self.stack.restart_devhost(kill=True)
        thread.join(timeout=120)
        answer = box[0] if box else None
        got = "no answer" if answer is None else f"HTTP {answer.status}"
        self.kills.append(
            f"{delay * 1000:.0f} ms into the POST of {self._label(plan, index)} "
            f"(typically {typical * 1000:.0f} ms; {got})"
        )
        return answer

    def _settle(
        self, plan: StepPlan, decision: Decision, index: int, answer: ApiAnswer | None, *, resend: bool
    ) -> None:
        key, label = plan.key, self._label(plan, index)
        if answer is None or answer.status >= 500:
            self.uncertain.add(key)  # lost with devhost: send it again once it is back
            self.counters["answers_lost"] += 1
            return
        if answer.status == 404:
            return  # not recorded yet by the gate: the next round tries again
        if answer.status == 409 and resend:
            # The lost attempt was recorded: the record must hold it (checked once more at the end).
            self.counters["resent_refused_409"] += 1
            if answer.error_code != "already_decided":
                self.problems.append(f"{label}: re-sent decision answered 409 {answer.body}")
            shown = approval(self.stack, LISTER, *key)
            if shown is not None and shown.status == 200:
                mine = [d for d in shown.body.get("decisions", []) if d.get("approver_id") == decision.approver_id]
                if len(mine) != 1 or mine[0].get("approved") is not decision.approve:
                    self.problems.append(f"{label}: after a 409 the record holds {mine}")
            self.uncertain.discard(key)
            self.sent[key] = index + 1
            return
        if answer.status != 200:
            self.problems.append(f"{label}: HTTP {answer.status} {answer.body}")
            self.uncertain.discard(key)
            self.sent[key] = index + 1  # never retried: the final checks report the record
            return
        if resend:
            self.counters["resent_recorded_200"] += 1
        self.counters["decided"] += 1
        self.counters["approvals" if decision.approve else "rejections"] += 1
        expected = plan.status_after(index + 1)
        if answer.body.get("status") != expected:
            self.problems.append(f"{label}: status {answer.body.get('status')!r} after it, expected {expected!r}")
        self.uncertain.discard(key)
        self.sent[key] = index + 1
        if self.rng.random() < self.duplicate_rate:
            self._duplicate(plan, decision, index)
        if expected == "approved" and self.kill_after >= 0 and self.first_sends - 1 >= self.kill_after:
            self.kill_after = -1
            resource, operation = plan.case.step_write(plan.step_id)
            assert self.stack.emulator is not None
            applied = activity_writes(self.stack.emulator)[(resource, operation)]
            self.stack.restart_devhost(kill=True)
            self.kills.append(
                f"right after {label} approved it (its write {'already' if applied else 'not yet'} applied)"
            )

    def _duplicate(self, plan: StepPlan, decision: Decision, index: int) -> None:
        """The same decision sent again (a client retry): 409 ``already_decided``, nothing changed."""
        again = decide(self.stack, decision.user, *plan.key, approve=decision.approve)
        if again is None:
            return  # devhost went down meanwhile: nothing to say
        self.counters["duplicates_refused_409"] += again.status == 409
        if again.status != 409 or again.error_code != "already_decided":
            self.problems.append(f"{self._label(plan, index)}: sent twice, answered {again.status} {again.body}")


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------
def _fault_rules(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    api = "arm.*"
    return [
        {"api": api, "kind": "throttle", "probability": 0.06, "seed": rng.randrange(1 << 30), "retry_after": 0.2},
        {"api": api, "kind": "error", "status": 503, "probability": 0.05, "seed": rng.randrange(1 << 30)},
        {"api": api, "kind": "error", "status": 500, "probability": 0.03, "seed": rng.randrange(1 << 30)},
        # A PATCH / PUT / DELETE whose operation ends Failed (InternalServerError): not applied.
        {"api": api, "kind": "lro_failure", "probability": 0.25, "seed": rng.randrange(1 << 30)},
        {"api": api, "kind": "latency", "latency": 0.3, "probability": 0.08, "seed": rng.randrange(1 << 30)},
    ]


@dataclass
class Run:
    states: dict[str, dict[str, Any]]
    records: dict[tuple[str, str], dict[str, Any] | None]
    resources: dict[str, Any]
    writes: Counter[tuple[str, str]]
    audit_ok: bool
    audit_problems: tuple[str, ...]
    audit: dict[str, Counter[str]]
    approver_problems: list[str]
    counters: Counter[str]
    kills: list[str] = field(default_factory=list)
    faults_fired: dict[str, int] = field(default_factory=dict)
    audited_late: int = 0
    seconds: float = 0.0


def _run(
    workdir: Path,
    tenant_file: Path,
    policy: Path,
    all_cases: list[Case],
    plans: dict[tuple[str, str], StepPlan],
    *,
    seed: int,
    chaos: bool,
) -> Run:
    rng = random.Random(seed)
    order = list(all_cases)
    rng.shuffle(order)
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    total = sum(len(p.decisions) for p in plans.values())
    kill_during = tuple(sorted(rng.sample(range(total // 5, total // 2), 2))) if chaos else ()
    kill_after = rng.randrange(total // 2, 2 * total // 3) if chaos else -1
    kill_responded = rng.randrange(INCIDENTS // 3, 2 * INCIDENTS // 3) if chaos else -1
    started = time.monotonic()
    stack = ReliabilityStack(workdir, tenant=tenant_file, env=stack_env(policy), seed=7)
    with stack:
        emulator = stack.emulator
        assert emulator is not None
        for rule in _fault_rules(seed) if chaos else []:
            emulator.inject_fault(**rule)
        approver = Approver(stack, plans, seed, random.Random(seed + 2), kill_during=kill_during, kill_after=kill_after)
        for batch in batches:
            deliver(stack, batch)
        pending = {c.incident_id: c for c in all_cases}
        done: dict[str, dict[str, Any]] = {}
        for _ in range(POLL_ROUNDS):
            approver.round()
            poll_round(stack, pending, done)
            if kill_responded >= 0 and len(done) >= kill_responded:
                kill_responded = -1
                stack.restart_devhost(kill=True)
                approver.kills.append(f"with {len(done)}/{INCIDENTS} incidents responded")
            elif not pending and approver.done():
                break
            time.sleep(0.3)
        assert not pending, f"seed={seed}: {len(pending)} incident(s) never responded (stuck): " + ", ".join(
            f"#{c.index} {c.kind} {iid} sent={[approver.sent.get((iid, s), 0) for s in c.changing_steps]}"
            for iid, c in list(pending.items())[:10]
        )
        fired = {fault_label(r): int(r["fired"]) for r in emulator.list_faults()}
        emulator.clear_faults()
        emulator.settle_operations()
        records: dict[tuple[str, str], dict[str, Any] | None] = {}
        for key in plans:
            shown = approval(stack, LISTER, *key)
            records[key] = shown.body if shown is not None and shown.status == 200 else None
        report, per_incident = audit_summary(stack, all_cases)
        late = sum(1 for r in stack.audit().records() if r.details.get("audited_late"))
        return Run(
            states=done,
            records=records,
            resources=resource_view(emulator),
            writes=activity_writes(emulator),
            audit_ok=report.ok,
            audit_problems=tuple(report.problems),
            audit=per_incident,
            approver_problems=list(approver.problems),
            counters=approver.counters,
            kills=approver.kills,
            faults_fired=fired,
            audited_late=late,
            seconds=time.monotonic() - started,
        )


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------
ONCE = ("incident.opened", "incident.triaged", "notification.intent:planned", "notification.intent:responded")


def _expected_audit(case: Case, plans: dict[tuple[str, str], StepPlan]) -> Counter[str]:
    """Every audit record the incident must hold, with its count (nothing else is allowed)."""
    expected: Counter[str] = Counter(dict.fromkeys(ONCE, 1))
    approved_any = False
    for step_id in case.changing_steps:
        plan = plans[(case.incident_id, step_id)]
        expected[f"approval.requested:{step_id}"] = 1
        for decision in plan.decisions:
            expected[f"approval.{'approve' if decision.approve else 'reject'}:{step_id}"] += 1
        expected[f"approval.closed.{plan.status}:{step_id}"] = 1
        expected[f"approval.{'granted' if plan.approved else 'denied'}:{step_id}"] = 1
        approved_any = approved_any or plan.approved
    if approved_any:
        expected["incident.verified"] = 1
    return expected


def _check_run(name: str, run: Run, all_cases: list[Case], plans: dict[tuple[str, str], StepPlan]) -> list[str]:
    problems = [f"{name}: approver: {p}" for p in run.approver_problems]
    if not run.audit_ok:
        problems.append(f"{name}: audit chain does not verify: {run.audit_problems[:5]}")
    for case in all_cases:
        label, custom, found = incident_status(name, run.states[case.incident_id], case)
        problems += found
        if custom is None:
            continue
        steps = {s["step_id"]: s for s in custom.get("steps", [])}
        records = run.audit[case.incident_id]
        for step_id in case.changing_steps:
            plan = plans[(case.incident_id, step_id)]
            step = steps.get(step_id) or {}
            if plan.approved and (step.get("status") not in EFFECTIVE or step.get("verified") is not True):
                problems.append(f"{label}: approved step {step_id} ended {step}")
            if not plan.approved and step.get("status") != "rejected":
                problems.append(f"{label}: rejected step {step_id} ended {step}")
            problems += _check_record(label, plan, run.records.get(plan.key))
            resource, operation = case.step_write(step_id)
            writes = run.writes.get((resource, operation), 0)
            if writes != (1 if plan.approved else 0):
                verdict = "approved" if plan.approved else "rejected"
                problems.append(f"{label}: {verdict} step {step_id} wrote {operation} {writes} time(s)")
            effective = records[f"step.succeeded:{step_id}"] + records[f"step.no_op:{step_id}"]
            if effective != (1 if plan.approved else 0):
                problems.append(f"{label}: {effective} step.succeeded/no_op record(s) for {step_id}")
        expected = _expected_audit(case, plans)
        step_records = Counter(
            {k: v for k, v in records.items() if not k.startswith(("step.succeeded:", "step.no_op:"))}
        )
        if step_records != expected:
            diff = {k: (step_records.get(k, 0), expected.get(k, 0)) for k in set(step_records) | set(expected)}
            problems.append(
                f"{label}: audit records (got, expected) differ: { {k: v for k, v in diff.items() if v[0] != v[1]} }"
            )
    return problems


def _check_record(label: str, plan: StepPlan, record: dict[str, Any] | None) -> list[str]:
    """The approval record holds exactly the planned decisions, in order, each once."""
    if record is None:
        return [f"{label}: no approval record for {plan.step_id}"]
    problems = []
    if record.get("status") != plan.status:
        problems.append(f"{label}: approval {plan.step_id} is {record.get('status')!r}, expected {plan.status!r}")
    got = [(d.get("approver_id"), d.get("approved")) for d in record.get("decisions", [])]
    want = [(d.approver_id, d.approve) for d in plan.decisions]
    if got != want:
        problems.append(f"{label}: approval {plan.step_id} decisions {got}, expected {want}")
    if record.get("requirement") != plan.requirement:
        problems.append(f"{label}: approval {plan.step_id} requirement {record.get('requirement')!r}")
    return problems


def _outcome(state: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Per step: its status (``no_op`` counted as ``succeeded``) and who decided it."""
    custom = state.get("customStatus") or {}
    return {
        s["step_id"]: ("succeeded" if s["status"] == "no_op" else s["status"], tuple(s.get("decided_by") or ()))
        for s in custom.get("steps", [])
    }


def test_approvals_decided_over_http_end_the_same_with_faults_lro_failures_and_host_kills(tmp_path: Path) -> None:
    seed = SEED
    all_cases = cases(INCIDENTS, seed, KINDS)
    plans = plan_decisions(all_cases, seed)
    tenant_file = tmp_path / "tenant.yaml"
    tenant_file.write_text(yaml.safe_dump(tenant(all_cases), sort_keys=False), encoding="utf-8")
    policy = write_policy(tmp_path / "policy.yaml", gated=GATED, approvals=APPROVAL_SETTINGS)

    baseline = _run(tmp_path / "fault-free", tenant_file, policy, all_cases, plans, seed=seed, chaos=False)
    chaos = _run(tmp_path / "chaos", tenant_file, policy, all_cases, plans, seed=seed, chaos=True)

    summary = {
        "seed": seed,
        "incidents": INCIDENTS,
        "gated_steps": len(plans),
        "two_approver_steps": sum(1 for p in plans.values() if p.requirement == "two_approvers"),
        "planned_decisions": sum(len(p.decisions) for p in plans.values()),
        "rejected_steps": sum(1 for p in plans.values() if not p.approved),
        "fault_free_seconds": round(baseline.seconds, 1),
        "chaos_seconds": round(chaos.seconds, 1),
        "fault_free_approver": dict(baseline.counters),
        "chaos_approver": dict(chaos.counters),
        "kills": chaos.kills,
        "faults_fired": chaos.faults_fired,
        "decisions_audited_late_by_the_gate": chaos.audited_late,
        "no_op_steps_after_kills": sum(
            1 for s in chaos.states.values() for status in step_outcomes(s).values() if status == "no_op"
        ),
    }
    print("reliability approvals:", json.dumps(summary))
    (tmp_path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    problems = _check_run("fault-free", baseline, all_cases, plans) + _check_run("chaos", chaos, all_cases, plans)
    assert not problems, f"seed={seed}: " + "\n".join(problems[:40])
    assert len(chaos.kills) == 4, f"seed={seed}: {chaos.kills}"
    assert chaos.faults_fired.get("arm.* LRO Failed", 0) > 0, f"seed={seed}: no LRO failed: {chaos.faults_fired}"
    assert baseline.counters["answers_lost"] == 0, f"seed={seed}: {baseline.counters}"

    different = {
        c.index: (_outcome(baseline.states[c.incident_id]), _outcome(chaos.states[c.incident_id]))
        for c in all_cases
        if _outcome(baseline.states[c.incident_id]) != _outcome(chaos.states[c.incident_id])
    }
    assert not different, f"seed={seed}: step outcomes (fault-free, chaos) differ: {different}"
    resources_differ = list(differences(baseline.resources, chaos.resources).items())
    assert not resources_differ, f"seed={seed}: {len(resources_differ)} resource(s) differ: {resources_differ[:3]}"
    writes_differ = differences(baseline.writes, chaos.writes)
    assert not writes_differ, f"seed={seed}: effective ARM writes (fault-free, chaos) differ: {writes_differ}"
    expected_writes = sum(1 for p in plans.values() if p.approved)
    assert sum(baseline.writes.values()) == expected_writes, f"seed={seed}: {baseline.writes}"
