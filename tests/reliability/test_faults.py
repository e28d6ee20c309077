"""Reliability: 100 incidents on the full local stack, once fault-free and once with the emulator
injecting 429 / 5xx / latency at random on ``arm.*`` and ``keyvault.*`` while devhost is
SIGKILLed and restarted at random points; both runs must end in the same place.

- **Incidents**: one per account of a generated tenant (``support.tenant``), spread over four
  playbooks of a test copy of ``policy.yaml`` whose changing steps are ``automatic``:
  jailbreak alert -> ``contain-prompt-attack`` (RAI policy switch + account tag),
  suspicious-IP alert -> ``close-public-network`` (network ACL default Deny),
  unapproved-model deployment event -> ``remove-unapproved-deployment`` (delete),
  credential-theft alert -> ``rotate-exposed-key`` (emergency rotation: regenerate, prove on the
  data plane, write the account's Key Vault secret).
  Alerts arrive through the Event Grid webhooks, redelivered until accepted (as Event Grid does).
- **Waited for**: each incident's ``responded`` point (custom status stage ``open`` or later),
  not ``closed``: closing takes the 10-minute settle timer. ``WARDEN_INCIDENT_QUIET_MINUTES=1``.
- **Asserted**, against the fault-free run: every incident responded (none failed), with every
  changing step ``succeeded`` (or ``no_op`` when a killed attempt had already made the change)
  and verified; the emulator's resources are identical (tags, network ACLs, deployments and
  their RAI policies, RAI policies, provisioning states); each resource has exactly one
  effective ARM write per step (``AzureActivity`` rows, one per applied write); the audit chain
  verifies and holds each expected record exactly once per incident.

Reproducible by seed: ``WARDEN_RELIABILITY_SEED`` (default below) drives the playbook mix, the
delivery order, the fault rules' own generators and the kill points; every assertion message
starts with the seed. (Which call a fault hits still depends on thread interleaving.) Bounded: a
fixed number of incidents, kills and polling rounds; no timed assertion (every wait is a
generous bounded loop on a condition). Two to three minutes on two cores.

Key rotations: a host killed inside ``keys_apply_step`` leaves its claim behind until the claim's
lease (``shared.keys.service.IDEMPOTENCY_LEASE_SECONDS``, 90 s) expires; the retried activity
(``handlers.keys._RETRY``, 15 s apart) then completes the rotation, so a run where a kill lands
there takes about a minute longer. (This suite found that the 600 s lease the step used to hold
outlasted the retries and lost the rotation, and that a host killed while its regenerate
request was in flight made the retry regenerate the key a second time.)
With rotations, a seeded 15 % of ``regenerateKey`` calls also lose their answer after Azure
applied them (the emulator's ``lost_answer`` fault): the step's retry must not regenerate again.
``WARDEN_RELIABILITY_ROTATION=0`` leaves the kind out (and with it every Key Vault call).
"""

from __future__ import annotations

import json
import os
import random
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
    ROTATION,
    Case,
    ReliabilityStack,
    activity_writes,
    audit_summary,
    cases,
    deliver,
    differences,
    fault_label,
    incident_status,
    key_view,
    poll_round,
    resource_view,
    stack_env,
    step_outcomes,
    tenant,
    write_policy,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SEED = int(os.environ.get("WARDEN_RELIABILITY_SEED", "20261125"))
WITH_ROTATION = os.environ.get("WARDEN_RELIABILITY_ROTATION", "1") != "0"
INCIDENTS = 100
BATCH = 10
KILLS = 3
POLL_ROUNDS = 600  # x ~0.5 s between rounds: a generous bound, never a timing assertion


def _fault_rules(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rules = []
    for api in ("arm.*", "keyvault.*"):
        rules += [
            {"api": api, "kind": "throttle", "probability": 0.08, "seed": rng.randrange(1 << 30), "retry_after": 0.2},
            {"api": api, "kind": "error", "status": 503, "probability": 0.06, "seed": rng.randrange(1 << 30)},
            {"api": api, "kind": "error", "status": 500, "probability": 0.03, "seed": rng.randrange(1 << 30)},
            {"api": api, "kind": "latency", "latency": 0.3, "probability": 0.1, "seed": rng.randrange(1 << 30)},
        ]
    if WITH_ROTATION:  # regenerateKey is the one call that is not idempotent: Azure applies it, the answer is lost
        rules.append(
            {
                "api": "arm.accounts.regenerateKey",
                "kind": "lost_answer",
                "probability": 0.15,
                "seed": rng.randrange(1 << 30),
            }
        )
    return rules


@dataclass
class Run:
    """What one run of the 100 incidents left behind."""

    states: dict[str, dict[str, Any]]
    resources: dict[str, Any]
    secrets: dict[str, Any]
    writes: Counter[tuple[str, str]]
    audit_ok: bool
    audit_problems: tuple[str, ...]
    audit: dict[str, Counter[str]]
    kills: list[str] = field(default_factory=list)
    faults_fired: dict[str, int] = field(default_factory=dict)
    redeliveries: int = 0
    seconds: float = 0.0


def _run(workdir: Path, tenant_file: Path, policy: Path, all_cases: list[Case], *, seed: int, chaos: bool) -> Run:
    rng = random.Random(seed)
    order = list(all_cases)
    rng.shuffle(order)
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    # Kill points: once while alerts are still arriving, then at random progress points.
    kill_after_batch = rng.randrange(2, len(batches) - 2) if chaos else -1
    thresholds = sorted(rng.sample(range(10, INCIDENTS - 10), KILLS - 1)) if chaos else []
    started = time.monotonic()
    stack = ReliabilityStack(workdir, tenant=tenant_file, env=stack_env(policy), seed=7)
    with stack:
        emulator = stack.emulator
        assert emulator is not None
        rules = []
        if chaos:
            for rule in _fault_rules(seed):
                rules.append(emulator.inject_fault(**rule))
        kills: list[str] = []
        redeliveries = 0
        pending = {c.incident_id: c for c in all_cases}
        done: dict[str, dict[str, Any]] = {}
        for number, batch in enumerate(batches):
            redeliveries += deliver(stack, batch) - 1
            if number == kill_after_batch:
                stack.restart_devhost(kill=True)
                kills.append(f"after delivering batch {number + 1}/{len(batches)}")
        for _ in range(POLL_ROUNDS):
            poll_round(stack, pending, done)
            if not pending:
                break
            if thresholds and len(done) >= thresholds[0]:
                stack.restart_devhost(kill=True)
                kills.append(f"with {len(done)}/{INCIDENTS} incidents responded")
                thresholds.pop(0)
            time.sleep(0.5)
        assert not pending, f"seed={seed}: {len(pending)} incident(s) never responded (stuck): " + ", ".join(
            f"#{c.index} {c.kind} {iid}" for iid, c in list(pending.items())[:10]
        )
        fired = {fault_label(r): int(r["fired"]) for r in emulator.list_faults()}
        emulator.clear_faults()
        emulator.settle_operations()
        report, per_incident = audit_summary(stack, all_cases)
        return Run(
            states=done,
            resources=resource_view(emulator),
            secrets=key_view(emulator),
            writes=activity_writes(emulator),
            audit_ok=report.ok,
            audit_problems=tuple(report.problems),
            audit=per_incident,
            kills=kills,
            faults_fired=fired,
            redeliveries=redeliveries,
            seconds=time.monotonic() - started,
        )


EXPECTED_AUDIT = {
    "incident.opened": 1,
    "incident.triaged": 1,
    "notification.intent:planned": 1,
    "notification.intent:responded": 1,
    "incident.verified": 1,
}
"""Audit records every incident holds exactly once (``action`` or ``action:stage``), besides one
``step.succeeded`` or ``step.no_op`` per changing step."""


def _check_run(seed: int, name: str, run: Run, all_cases: list[Case]) -> list[str]:
    """Everything a single run must satisfy on its own; returns the problems."""
    problems: list[str] = []
    if not run.audit_ok:
        problems.append(f"{name}: audit chain does not verify: {run.audit_problems[:5]}")
    for case in all_cases:
        label, custom, found = incident_status(name, run.states[case.incident_id], case)
        problems += found
        if custom is None:
            continue
        steps = {s["step_id"]: s for s in custom.get("steps", [])}
        for step_id in case.changing_steps:
            step = steps.get(step_id)
            if step is None or step["status"] not in EFFECTIVE or step.get("verified") is not True:
                problems.append(f"{label}: step {step_id} ended {step}")
        records = run.audit[case.incident_id]
        for action, count in EXPECTED_AUDIT.items():
            if records[action] != count:
                problems.append(f"{label}: {records[action]} audit record(s) {action}, expected {count}")
        for step_id in case.changing_steps:
            got = records[f"step.succeeded:{step_id}"] + records[f"step.no_op:{step_id}"]
            of_step = {k: v for k, v in records.items() if k.endswith(f":{step_id}")}
            if got != 1 or sum(of_step.values()) != 1:
                problems.append(f"{label}: audit records of {step_id}: {of_step}; expected one step.succeeded/no_op")
        extra = {k: v for k, v in records.items() if v > 1}
        if extra:
            problems.append(f"{label}: duplicated audit records {extra}")
    duplicated = {k: v for k, v in run.writes.items() if v > 1}
    if duplicated:
        problems.append(f"{name}: resources written more than once per step: {dict(list(duplicated.items())[:10])}")
    return problems


def test_one_hundred_incidents_end_the_same_with_faults_and_host_kills(tmp_path: Path) -> None:
    seed = SEED
    all_cases = cases(INCIDENTS, seed, (*KINDS, ROTATION) if WITH_ROTATION else KINDS)
    tenant_file = tmp_path / "tenant.yaml"
    tenant_file.write_text(yaml.safe_dump(tenant(all_cases), sort_keys=False), encoding="utf-8")
    policy = write_policy(tmp_path / "policy.yaml")

    baseline = _run(tmp_path / "fault-free", tenant_file, policy, all_cases, seed=seed, chaos=False)
    chaos = _run(tmp_path / "chaos", tenant_file, policy, all_cases, seed=seed, chaos=True)

    summary = {
        "seed": seed,
        "incidents": INCIDENTS,
        "fault_free_seconds": round(baseline.seconds, 1),
        "chaos_seconds": round(chaos.seconds, 1),
        "kills": chaos.kills,
        "faults_fired": chaos.faults_fired,
        "redelivered_batches": chaos.redeliveries,
        "no_op_steps_after_kills": sum(
            1 for s in chaos.states.values() for status in step_outcomes(s).values() if status == "no_op"
        ),
    }
    print("reliability:", json.dumps(summary))
    (tmp_path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    problems = _check_run(seed, "fault-free", baseline, all_cases) + _check_run(seed, "chaos", chaos, all_cases)
    assert not problems, f"seed={seed}: " + "\n".join(problems[:40])
    assert sum(chaos.faults_fired.values()) > 0, f"seed={seed}: no fault fired: {chaos.faults_fired}"
    assert len(chaos.kills) == KILLS, f"seed={seed}: {chaos.kills}"

    for case in all_cases:
        base = {k: v for k, v in step_outcomes(baseline.states[case.incident_id]).items()}
        assert all(v == "succeeded" for k, v in base.items() if k in case.changing_steps), f"seed={seed}: {base}"
    different = list(differences(baseline.resources, chaos.resources).items())
    assert not different, f"seed={seed}: {len(different)} resource(s) differ, e.g. {different[:3]}"
    writes_differ = differences(baseline.writes, chaos.writes)
    assert not writes_differ, f"seed={seed}: effective ARM writes (fault-free, chaos) differ: {writes_differ}"
    assert chaos.secrets == baseline.secrets, f"seed={seed}: Key Vault secrets differ: {chaos.secrets}"
    rotated = [c for c in all_cases if c.kind == "credential_theft"]
    assert len(baseline.secrets) == len(rotated)
    assert all(v["holds_current_key"] and v["versions"] == 2 for v in baseline.secrets.values()), baseline.secrets
    expected_writes = sum(1 if c.kind != "jailbreak" else 2 for c in all_cases)
    assert sum(baseline.writes.values()) == expected_writes, f"seed={seed}: {baseline.writes}"
