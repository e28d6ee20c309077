"""`warden audit verify` checks the real audit table and fails loudly when it was tampered with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from cli.main import main
from devhost.azurite import Azurite
from shared.audit.chain import AuditEvent
from shared.bootstrap import reset_container
from shared.storage.tables import TableAuditStore
from shared.storage.tables.audit import AUDIT_TABLE
from tests.conftest import SUBSCRIPTION


@pytest.fixture
def env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[TableServiceClient]:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)
    monkeypatch.setenv("WARDEN_TABLES_CONNECTION_STRING", azurite.table_connection_string)
    reset_container()
    service = TableServiceClient.from_connection_string(azurite.table_connection_string)
    service.delete_table(AUDIT_TABLE)
    yield service
    reset_container()


def test_verify_passes_on_an_intact_chain(env: TableServiceClient, capsys: pytest.CaptureFixture[str]) -> None:
    store = TableAuditStore(env)
    for i in range(3):
        store.append(AuditEvent(at=datetime(2026, 1, 1, tzinfo=UTC), actor="warden", action="x", reason=str(i)))
    assert main(["audit", "verify"]) == 0
    assert "audit chain OK: 3 records, head 3" in capsys.readouterr().out


def test_verify_fails_when_a_record_is_removed(env: TableServiceClient, capsys: pytest.CaptureFixture[str]) -> None:
    store = TableAuditStore(env)
    for i in range(3):
        store.append(AuditEvent(at=datetime(2026, 1, 1, tzinfo=UTC), actor="warden", action="x", reason=str(i)))
    env.get_table_client(AUDIT_TABLE).delete_entity("chain", f"{2:012d}")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "audit chain BROKEN" in out
    assert "record 2 is missing" in out


def test_missing_settings_give_an_actionable_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WARDEN_SUBSCRIPTION_IDS", raising=False)
    reset_container()
    assert main(["audit", "verify"]) == 1
    assert "WARDEN_SUBSCRIPTION_IDS is missing" in capsys.readouterr().err
