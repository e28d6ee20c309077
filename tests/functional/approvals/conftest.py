"""The real ``function_app.py`` on devhost, with the approvals dependencies in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost.server import DevHostThread
from shared.approvals.records import ApprovalRecord
from shared.bootstrap import container, reset_container
from shared.contracts.approval import ApprovalRequest, approval_instance_id
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import SUB, gate_request, memory_deps

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def warden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
        reset_container()
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host
        reset_container()


@pytest.fixture
def deps() -> Iterator[ApprovalsDeps]:
    bundle = memory_deps()
    container().approvals_deps = bundle
    yield bundle
    reset_container()


def seed(deps: ApprovalsDeps, incident_id: str = "inc-1", **kwargs: Any) -> ApprovalRecord:
    """A pending approval as the gate records it (no orchestration behind it)."""
    request = ApprovalRequest.model_validate(gate_request(incident_id, **kwargs))
    return deps.service.open(
        request,
        instance_id=approval_instance_id(incident_id, request.step.id),
        requested_at=datetime.now(UTC),
    )
