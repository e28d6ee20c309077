"""Fixtures: the labeled anomaly dataset in an ``Emulator``, and Warden's real SDK clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator import Emulator
from emulator.datasets import AnomalyDataset, generate_anomaly_dataset
from emulator.datasets.anomalies import SUBSCRIPTION_ID, WORKSPACE_ID
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.policy import Policy, load_policy
from shared.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Estate:
    dataset: AnomalyDataset
    emulator: Emulator
    clients: AzureClients


def build_estate(dataset: AnomalyDataset, **account_overrides: object) -> Estate:
    emulator = Emulator(dataset.tenant(**account_overrides), seed=3)
    settings = load_settings(
        subscription_ids=[SUBSCRIPTION_ID],
        log_analytics_workspace_id=WORKSPACE_ID,
        emulator_url=None,
        notify_topic_endpoint=None,
        notify_topic_key=None,
    )
    clients = AzureClients(settings, credential=StaticTokenCredential(), transport=EmulatorTransport(emulator))
    return Estate(dataset, emulator, clients)


@pytest.fixture(scope="module")
def injected() -> Iterator[Estate]:
    estate = build_estate(generate_anomaly_dataset(seed=7, now=NOW))
    try:
        yield estate
    finally:
        estate.clients.close()


@pytest.fixture(scope="module")
def normal() -> Iterator[Estate]:
    estate = build_estate(generate_anomaly_dataset(seed=7, now=NOW, inject=False))
    try:
        yield estate
    finally:
        estate.clients.close()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policy.yaml")
