"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devhost.azurite import Azurite

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"

# Importing a handler module is importing the app: it reads the (validated) settings. Give the
# test process the one required setting; tests about settings themselves manage their own env.
os.environ.setdefault("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite (Table Storage emulator) on free ports for this test session (per xdist worker)."""
    with Azurite() as instance:
        yield instance
