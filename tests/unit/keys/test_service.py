"""Key steps and event classification against in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.contracts.rotation import KEY_STEP_LEASE_SECONDS, KeyStepRequest, KeyStepStatus, rotation_instance_id
from shared.keys.policy import KeyPolicy
from shared.keys.rotation import KeyStep
from shared.keys.slots import KeySlot
from shared.ports.cognitive import AccountKeys
from shared.ports.stores import AlreadyInProgressError, LeaseLostError
from shared.resource_ids import AccountId
from shared.usecases.key_hygiene import classify_key_vault_event
from shared.usecases.key_rotation import KeyNotProvenError, RotationError, apply_key_step
from tests.unit.keys.conftest import ACCOUNT, NOW, SECRET, VAULT, World
from tests.unit.keys.samples import near_expiry

ZERO = timedelta(0)


def step_request(world: World, version: str, step: KeyStep, rotation_id: str = "rot-1") -> KeyStepRequest:
    return KeyStepRequest(
        rotation_id=rotation_id,
        account_id=ACCOUNT,
        vault_url=VAULT,
        secret_name=SECRET,
        expected_version=version,
        step=step,
        validity_days=60,
        now=NOW,
    )


SCHEDULED = KeyStep(index=0, slot=KeySlot.KEY2, regenerate=True, write_vault=True)


def test_a_scheduled_step_regenerates_proves_then_writes_the_other_key(world: World) -> None:
    version = world.seed_secret(KeySlot.KEY1, extra={"owner": "team-a"})
    old_key1 = world.cognitive.current_key(ACCOUNT, KeySlot.KEY1)
    outcome = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert outcome.status is KeyStepStatus.SUCCEEDED and outcome.regenerated and outcome.probed
    latest = world.secrets.get_secret(VAULT, SECRET)
    assert latest.value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    assert latest.meta.version == outcome.vault_version != version
    assert latest.meta.tags["CredentialId"] == "key2"
    assert latest.meta.tags["ProviderAddress"] == str(ACCOUNT)
    assert latest.meta.tags["ValidityPeriodDays"] == "60"
    assert latest.meta.tags["WardenRotationId"] == "rot-1"
    assert latest.meta.tags["owner"] == "team-a"
    assert latest.meta.expires_on == NOW + timedelta(days=60)
    # the previously active key still works
    assert world.cognitive.current_key(ACCOUNT, KeySlot.KEY1) == old_key1
    assert world.cognitive.regenerations == [(ACCOUNT, KeySlot.KEY2)]


def test_the_outcome_never_carries_a_key_value(world: World) -> None:
    version = world.seed_secret()
    outcome = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    text = outcome.model_dump_json()
    for slot in KeySlot:
        assert world.cognitive.current_key(ACCOUNT, slot) not in text


def test_key_vault_is_not_written_when_the_new_key_is_refused(world: World) -> None:
    version = world.seed_secret()
    world.probe.reject_next = 10
    with pytest.raises(KeyNotProvenError, match="Key Vault was not written"):
        apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert world.secret_version() == version
    assert world.secrets.calls["set_secret"] == 0
    # the idempotency record was released so a retry may run
    world.probe.reject_next = 0
    outcome = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert outcome.status is KeyStepStatus.SUCCEEDED


def test_a_slow_data_plane_is_retried_before_giving_up(world: World) -> None:
    version = world.seed_secret()
    world.probe.reject_next = 2
    sleeps: list[float] = []
    world.ports.sleep = sleeps.append
    outcome = apply_key_step(
        world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=timedelta(seconds=4)
    )
    assert outcome.probe_attempts == 3 and sleeps == [4.0, 4.0]


def test_a_retried_step_does_not_rotate_twice(world: World) -> None:
    version = world.seed_secret()
    first = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    again = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert again == first
    assert world.cognitive.calls["regenerate_key"] == 1
    assert len(world.secrets.versions(VAULT, SECRET)) == 2


def test_a_step_whose_record_was_lost_after_writing_is_recognised_as_done(world: World) -> None:
    version = world.seed_secret()
    first = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    world.idempotency._items.clear()  # e.g. the record expired; the secret's tag still says who wrote it
    again = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert again.status is KeyStepStatus.ALREADY_DONE and again.vault_version == first.vault_version
    assert world.cognitive.calls["regenerate_key"] == 1


def test_a_step_in_progress_elsewhere_fails_so_durable_retries_later(world: World) -> None:
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    world.idempotency.begin(request.idempotency_key, now=NOW, lease_seconds=600)
    with pytest.raises(AlreadyInProgressError):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    assert world.cognitive.calls["regenerate_key"] == 0


def test_a_step_that_waits_longer_than_its_lease_keeps_its_claim(world: World) -> None:
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    world.probe.reject_next = 3
    contested: list[str] = []

    def slow_sleep(seconds: float) -> None:
        world.clock.advance(timedelta(seconds=KEY_STEP_LEASE_SECONDS - 10))
        try:  # a duplicate delivery arrives while this step waits for the key to propagate
            world.idempotency.begin(request.idempotency_key, now=world.clock(), lease_seconds=KEY_STEP_LEASE_SECONDS)
            contested.append("taken over")
        except AlreadyInProgressError:
            contested.append("refused")

    world.ports.sleep = slow_sleep
    outcome = apply_key_step(world.ports, request, probe_attempts=4, probe_delay=timedelta(seconds=1))
    assert outcome.status is KeyStepStatus.SUCCEEDED and outcome.probe_attempts == 4
    assert contested == ["refused"] * 3  # 3 x 80 s waited, far past one 90 s lease
    assert world.cognitive.calls["regenerate_key"] == 1


def test_a_step_that_lost_its_claim_never_writes_key_vault(world: World) -> None:
    """A step stalls past its lease; the retry takes the step over and writes (the key the stalled
    step regenerated: it is still the account's key). When the stalled step wakes up, the step is
    no longer its own: it must stop without writing."""
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    world.probe.reject_next = 1
    retry: list[KeyStepStatus] = []

    def stall(seconds: float) -> None:
        world.clock.advance(timedelta(seconds=KEY_STEP_LEASE_SECONDS + 1))
        if not retry:
            world.ports.sleep = lambda _s: None
            taken = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
            retry.append(taken.status)

    world.ports.sleep = stall
    with pytest.raises(LeaseLostError):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=timedelta(seconds=1))
    assert retry == [KeyStepStatus.SUCCEEDED]
    assert world.cognitive.calls["regenerate_key"] == 1  # the retry used the key the stalled step made
    assert world.secrets.calls["set_secret"] == 1  # only the retry wrote
    assert world.secrets.get_secret(VAULT, SECRET).value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    again = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    assert again.status is KeyStepStatus.SUCCEEDED and world.cognitive.calls["regenerate_key"] == 1


def test_a_step_whose_host_died_after_regenerating_does_not_regenerate_again(world: World) -> None:
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    world.probe.reject_next = 1

    def host_dies(_seconds: float) -> None:
        raise KeyboardInterrupt("SIGKILL")  # between regenerating and writing Key Vault

    world.ports.sleep = host_dies
    with pytest.raises(KeyboardInterrupt):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=timedelta(seconds=1))
    made = world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    assert world.cognitive.calls["regenerate_key"] == 1 and world.secrets.calls["set_secret"] == 0
    world.ports.sleep = lambda _s: None
    outcome = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)  # the retry
    assert outcome.status is KeyStepStatus.SUCCEEDED
    assert world.cognitive.calls["regenerate_key"] == 1  # the key the dead attempt made is used
    assert world.cognitive.current_key(ACCOUNT, KeySlot.KEY2) == made
    assert world.secrets.get_secret(VAULT, SECRET).value == made
    for record in world.idempotency._items.values():  # only a fingerprint of it was kept
        assert made not in str(record[0].result)


def test_a_regeneration_whose_answer_died_with_its_host_is_not_repeated(world: World) -> None:
    """The regenerate request reached Azure, which applied it, but the host died before the answer
    came back (seed 20261125 of the reliability suite): the retry must see the key changed."""
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    regenerate = world.cognitive.regenerate_key

    def applied_then_host_dies(account: AccountId, slot: KeySlot) -> AccountKeys:
        regenerate(account, slot)
        raise KeyboardInterrupt("SIGKILL")

    world.cognitive.regenerate_key = applied_then_host_dies  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    made = world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    world.cognitive.regenerate_key = regenerate  # type: ignore[method-assign]
    outcome = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)  # the retry
    assert outcome.status is KeyStepStatus.SUCCEEDED
    assert world.cognitive.regenerations == [(ACCOUNT, KeySlot.KEY2)]
    assert world.secrets.get_secret(VAULT, SECRET).value == made


def test_a_regeneration_that_never_reached_azure_is_sent_by_the_retry(world: World) -> None:
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    before = world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    regenerate = world.cognitive.regenerate_key

    def host_dies_first(account: AccountId, slot: KeySlot) -> AccountKeys:
        raise KeyboardInterrupt("SIGKILL")

    world.cognitive.regenerate_key = host_dies_first  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    world.cognitive.regenerate_key = regenerate  # type: ignore[method-assign]
    outcome = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    assert outcome.status is KeyStepStatus.SUCCEEDED
    assert world.cognitive.regenerations == [(ACCOUNT, KeySlot.KEY2)]
    assert world.cognitive.current_key(ACCOUNT, KeySlot.KEY2) != before
    assert world.secrets.get_secret(VAULT, SECRET).value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)


def test_a_key_regenerated_by_someone_else_since_is_stored_not_regenerated_again(world: World) -> None:
    version = world.seed_secret()
    request = step_request(world, version, SCHEDULED)
    world.probe.reject_next = 1

    def host_dies(_seconds: float) -> None:
        raise KeyboardInterrupt("SIGKILL")

    world.ports.sleep = host_dies
    with pytest.raises(KeyboardInterrupt):
        apply_key_step(world.ports, request, probe_attempts=3, probe_delay=timedelta(seconds=1))
    world.cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)  # someone else, meanwhile
    world.ports.sleep = lambda _s: None
    outcome = apply_key_step(world.ports, request, probe_attempts=3, probe_delay=ZERO)
    # the key this step set out to replace is gone either way: the account's key is proven and stored
    assert outcome.status is KeyStepStatus.SUCCEEDED and world.cognitive.calls["regenerate_key"] == 2
    assert world.secrets.get_secret(VAULT, SECRET).value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)


def test_a_secret_rotated_by_someone_else_supersedes_the_step(world: World) -> None:
    version = world.seed_secret()
    world.seed_secret(KeySlot.KEY2)  # someone wrote a new version meanwhile
    outcome = apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert outcome.status is KeyStepStatus.SUPERSEDED
    assert world.cognitive.calls["regenerate_key"] == 0


def test_a_secret_for_another_account_is_refused(world: World) -> None:
    version = world.seed_secret(extra={"ProviderAddress": str(ACCOUNT).replace("contoso-openai", "someone-else")})
    with pytest.raises(RotationError, match="ProviderAddress"):
        apply_key_step(world.ports, step_request(world, version, SCHEDULED), probe_attempts=3, probe_delay=ZERO)
    assert world.cognitive.calls["regenerate_key"] == 0


def test_an_emergency_regeneration_checks_the_old_key_is_refused(world: World) -> None:
    version = world.seed_secret()
    step = KeyStep(index=1, slot=KeySlot.KEY1, regenerate=True, write_vault=False, verify_old_refused=True)
    outcome = apply_key_step(world.ports, step_request(world, version, step), probe_attempts=3, probe_delay=ZERO)
    assert outcome.old_key_refused is True and outcome.vault_version is None
    assert world.secrets.calls["set_secret"] == 0


# -- events ---------------------------------------------------------------------------------
def classify(world: World, event: dict[str, object], vaults: tuple[str, ...] = (VAULT,)):
    return classify_key_vault_event(world.ports, event, policy=KeyPolicy(), vaults=vaults)


@pytest.mark.parametrize("cloud", [False, True])
def test_near_expiry_of_the_current_version_starts_a_rotation(world: World, cloud: bool) -> None:
    version = world.seed_secret()
    decision = classify(world, near_expiry(vault="kv-contoso-ai", secret=SECRET, version=version, cloud=cloud))
    assert decision.action == "start" and decision.request is not None
    assert decision.request.instance_id == rotation_instance_id(ACCOUNT, version)
    assert decision.request.validity_days == 60 and decision.request.source == "key_vault_event"


def test_an_event_for_an_older_version_is_already_rotated(world: World) -> None:
    old = world.seed_secret()
    world.seed_secret(KeySlot.KEY2)
    decision = classify(world, near_expiry(vault="kv-contoso-ai", secret=SECRET, version=old))
    assert (decision.action, decision.reason_code) == ("ignore", "already_rotated")


@pytest.mark.parametrize(
    ("event_type", "code"),
    [
        ("Microsoft.KeyVault.SecretNewVersionCreated", "not_a_rotation_event"),
        ("Microsoft.KeyVault.KeyNearExpiry", "not_a_rotation_event"),
        ("Microsoft.Storage.BlobCreated", "not_a_rotation_event"),
    ],
)
def test_other_events_are_ignored_with_a_reason(world: World, event_type: str, code: str) -> None:
    version = world.seed_secret()
    decision = classify(
        world, near_expiry(vault="kv-contoso-ai", secret=SECRET, version=version, event_type=event_type)
    )
    assert (decision.action, decision.reason_code) == ("ignore", code)
    assert world.secrets.calls["get_secret"] == 0


def test_secrets_without_the_convention_are_ignored(world: World) -> None:
    world.secrets.set_secret(VAULT, "plain", "value-123456", tags={"owner": "x"}, expires_on=None)
    version = world.secrets.versions(VAULT, "plain")[-1].version
    decision = classify(world, near_expiry(vault="kv-contoso-ai", secret="plain", version=str(version)))
    assert (decision.action, decision.reason_code) == ("ignore", "not_dual_credential")


def test_events_from_unmanaged_vaults_or_for_deleted_secrets_are_ignored(world: World) -> None:
    decision = classify(world, near_expiry(vault="kv-elsewhere", secret=SECRET, version="abc"))
    assert decision.reason_code == "vault_not_managed"
    decision = classify(world, near_expiry(vault="kv-contoso-ai", secret="gone", version="abc"))
    assert decision.reason_code == "secret_not_found"


def test_malformed_events_are_quarantined(world: World) -> None:
    bad = near_expiry(vault="kv-contoso-ai", secret=SECRET, version="abc")
    bad["data"]["Id"] = "https://kv-contoso-ai.vault.azure.net/secrets/other/abc"
    assert classify(world, bad).action == "quarantine"
    assert classify(world, {"hello": "world"}).reason_code == "malformed_event"
