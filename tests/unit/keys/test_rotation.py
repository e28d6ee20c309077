"""Rotation planning: instance ids, 'already rotated', and the emergency-order invariant."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from shared.contracts.rotation import (
    RotationRequest,
    RotationResult,
    RotationState,
    RotationStatus,
    emergency_instance_id,
    rotation_instance_id,
)
from shared.keys.rotation import Exposure, KeyStep, plan_emergency_rotation
from shared.keys.slots import KeySlot
from shared.orchestrations.rotation import plan_scheduled_rotation
from shared.resource_ids import AccountId
from tests.unit.keys.conftest import ACCOUNT, SECRET, SUB, VAULT


def request(version: str = "v1") -> RotationRequest:
    return RotationRequest(account_id=ACCOUNT, vault_url=VAULT, secret_name=SECRET, secret_version=version)


def state(version: str = "v1", **changes: Any) -> RotationState:
    values: dict[str, object] = {
        "vault_url": VAULT,
        "secret_name": SECRET,
        "current_version": version,
        "active_slot": KeySlot.KEY1,
        "provider_address": ACCOUNT,
        "validity_days": 60,
    }
    values.update(changes)
    return RotationState.model_validate(values)


def test_instance_ids_are_deterministic_and_case_insensitive() -> None:
    a = rotation_instance_id(ACCOUNT, "ABCDEF01")
    assert a == rotation_instance_id(str(ACCOUNT).upper(), "abcdef01")
    assert a.startswith("keyrot-") and len(a) <= 100
    assert a != rotation_instance_id(ACCOUNT, "abcdef02")
    assert a != rotation_instance_id(AccountId(SUB, "rg-ai", "other"), "abcdef01")
    assert request("ABCDEF01").instance_id == a


def test_instance_ids_need_a_version() -> None:
    with pytest.raises(ValueError, match="secret_version"):
        rotation_instance_id(ACCOUNT, " ")
    with pytest.raises(ValueError, match="incident_key"):
        emergency_instance_id(ACCOUNT, "")
    assert emergency_instance_id(ACCOUNT, "inc-1") != emergency_instance_id(ACCOUNT, "inc-2")


def test_scheduled_rotation_regenerates_the_inactive_key_and_stores_it() -> None:
    plan = plan_scheduled_rotation(request(), state())
    assert plan == KeyStep(index=0, slot=KeySlot.KEY2, regenerate=True, write_vault=True)
    assert plan_scheduled_rotation(request(), state(active_slot=KeySlot.KEY2)).slot is KeySlot.KEY1  # type: ignore[union-attr]


def test_a_moved_version_is_already_rotated() -> None:
    plan = plan_scheduled_rotation(request("v1"), state("v2"))
    assert isinstance(plan, RotationResult)
    assert plan.status is RotationStatus.ALREADY_ROTATED
    assert "already rotated" in plan.detail and plan.new_version == "v2"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"enabled": False}, "disabled"),
        ({"active_slot": None, "provider_address": None}, "dual-credential"),
        ({"provider_address": AccountId(SUB, "rg-ai", "someone-else")}, "ProviderAddress"),
        ({"problem": "tag CredentialId='key9': expected 'key1' or 'key2'"}, "CredentialId"),
    ],
)
def test_unrotatable_secrets_say_why(changes: dict[str, Any], expected: str) -> None:
    plan = plan_scheduled_rotation(request(), state(**changes))
    assert isinstance(plan, RotationResult) and plan.status is RotationStatus.NOT_ROTATABLE
    assert expected in plan.detail


def _simulate(active: KeySlot | None, exposure: Exposure, both: bool) -> None:
    """Apply the plan to a model of the account and the vault and check the invariant."""
    plan = plan_emergency_rotation(active, exposure, both_exposed=both)
    generation = {KeySlot.KEY1: 0, KeySlot.KEY2: 0}  # 0 = the value that existed when the leak happened
    vault: tuple[KeySlot, int] | None = (active, 0) if active is not None else None
    if both or exposure is Exposure.BOTH:
        exposed = {KeySlot.KEY1, KeySlot.KEY2}
    elif exposure in (Exposure.ACTIVE, Exposure.UNKNOWN):
        exposed = {active} if active is not None else {KeySlot.KEY1, KeySlot.KEY2}
    else:
        exposed = {KeySlot.parse(exposure.value)}
    assert [s.index for s in plan] == list(range(len(plan)))
    for step in plan:
        if step.regenerate:
            generation[step.slot] += 1
        if step.write_vault:
            assert active is not None
            vault = (step.slot, generation[step.slot])
        if vault is not None:
            slot, gen = vault
            # the vault always holds a key that still works
            assert generation[slot] == gen, f"vault holds a regenerated-away key after {step}"
    # every exposed key has been regenerated
    assert all(generation[s] >= 1 for s in exposed), plan
    # and the vault never ends on a leaked value
    if vault is not None:
        slot, gen = vault
        assert not (slot in exposed and gen == 0)
    # the first regeneration hits an exposed key (leaked key refused within one step)
    first = next(s for s in plan if s.regenerate)
    assert first.slot in exposed


@pytest.mark.parametrize(
    ("active", "exposure", "both"),
    list(itertools.product([KeySlot.KEY1, KeySlot.KEY2, None], list(Exposure), [False, True])),
)
def test_emergency_plans_keep_a_working_key_in_the_vault(
    active: KeySlot | None, exposure: Exposure, both: bool
) -> None:
    _simulate(active, exposure, both)


def test_an_exposed_active_key_is_switched_out_before_it_is_regenerated() -> None:
    plan = plan_emergency_rotation(KeySlot.KEY1, Exposure.ACTIVE, both_exposed=False)
    assert [(s.slot, s.regenerate, s.write_vault) for s in plan] == [
        (KeySlot.KEY2, False, True),
        (KeySlot.KEY1, True, False),
    ]
    assert plan[1].verify_old_refused
