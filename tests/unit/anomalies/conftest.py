"""Shared values for the anomaly unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.policy import Policy, load_policy
from shared.resource_ids import AccountId

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 20, 12, 7, 30, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNT = AccountId.parse(
    f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-oai"
)
WARDEN = "0b7e3f52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(ROOT / "policy.yaml")
