"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.azurite import Azurite

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite (Table Storage emulator) on free ports for this test session (per xdist worker)."""
    with Azurite() as instance:
        yield instance
