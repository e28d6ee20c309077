"""Fixtures for the emulator's unit tests: a minimal one-account tenant."""

from __future__ import annotations

from typing import Any

import pytest

SUB = "00000000-0000-0000-0000-000000000001"


def minimal_tenant(**account: Any) -> dict[str, Any]:
    """One subscription, one resource group ``rg``, one account ``acct`` (with ``account`` fields)."""
    return {
        "subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg", "accounts": [{"name": "acct", **account}]}]}]
    }


@pytest.fixture
def tenant() -> dict[str, Any]:
    """A one-account tenant whose account has one deployment ``gpt-4o``."""
    return minimal_tenant(deployments=[{"name": "gpt-4o", "model": {"name": "gpt-4o", "version": "1"}}])
