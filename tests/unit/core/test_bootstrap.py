"""The composition root: one container holds every wired dependency, and resetting it forgets them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.bootstrap import Container, container, reset_container, set_container
from shared.settings import load_settings
from shared.storage.memory import MemoryAuditStore
from tests.approvals_support import memory_deps

SUB = "00000000-0000-0000-0000-0000000000b1"


def offline(**settings: Any) -> Container:
    """A container whose clients never reach Azure (a static token; endpoints configured, never called)."""
    values = load_settings(
        subscription_ids=[SUB],
        tables_endpoint="https://warden.table.core.windows.net",
        log_analytics_workspace_id="6b8f2c1d-4e3a-4b7c-8d9e-0a1b2c3d4e5f",
        **settings,
    )
    return Container(settings=values, clients=AzureClients(values, credential=StaticTokenCredential()))


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    reset_container()
    yield
    reset_container()


def test_each_bundle_is_built_once_from_the_containers_own_stores() -> None:
    c = offline()
    c.audit = MemoryAuditStore()
    assert c.keys_ports is c.keys_ports
    assert c.response_ports is c.response_ports
    assert c.approvals_deps is c.approvals_deps
    assert c.keys_ports.audit is c.audit
    assert c.keys_ports.idempotency is c.idempotency
    assert c.keys_ports.quarantine is c.quarantine
    assert c.response_ports.audit is c.audit
    assert c.response_ports.snapshots is c.snapshots
    assert c.response_ports.breaker is c.disruptive_actions
    assert c.response_ports.policy is c.policy
    assert c.approvals_deps.idempotency is c.idempotency


def test_a_bundle_assigned_on_the_container_is_what_the_handlers_get_until_reset() -> None:
    deps = memory_deps()
    c = offline()
    c.approvals_deps = deps
    set_container(c)
    assert container().approvals_deps is deps
    reset_container()  # forgets the container, and with it the substituted bundle
    assert container() is not c


def test_approvals_deps_follow_the_settings() -> None:
    short = offline(link_signing_key="x9-short").approvals_deps
    assert short.link_key is None  # too short to sign links with
    key = "a-link-signing-key-long-enough"
    deps = offline(link_signing_key=key, public_base_url="https://warden.example.net").approvals_deps
    assert deps.link_key == deps.csrf_key == key.encode()
    assert len(offline().approvals_deps.csrf_key) == 32  # no key configured: a per-process one
    assert deps.base_url == "https://warden.example.net"
    assert deps.channels == []  # no topic endpoint and no Teams webhook configured
