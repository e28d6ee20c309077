"""Fixtures for the Durable engine tests."""

import pytest

from devhost.loader import LoadedApp
from tests.functional.devhost_durable.support import load_fixture_app


@pytest.fixture(scope="session")
def durable_app() -> LoadedApp:
    """The sample Durable app (``tests/fixtures/durable_app/function_app.py``), loaded once."""
    return load_fixture_app()
