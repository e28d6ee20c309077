"""(c) orchestration: history events, replays (episodes) and orchestrator time per incident playbook.

Each shipped playbook runs once through devhost's Durable engine (the real azure-functions-durable
replay) with its activities acting on the emulator through the real SDK clients, approvals
decided by the policy's fallback (``final_decision: approve``) so no human is needed. The
orchestrator's own time is the sum of its episodes as the engine logs them ("orchestrator
episode, Duration=…ms"): the replay cost that grows with history. Notifications have no channel
configured here; their (caught, recorded) failures are not part of the measurement.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

_EPISODE = re.compile(
    r"Executed 'Functions\.(\w+)' \(\w+, Id=[^,]*, InstanceId=[^,]*, Duration=(\d+)ms\): orchestrator"
)


class _EpisodeTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ms: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = _EPISODE.search(record.getMessage())
        if match:
            self.ms[match.group(1)] = self.ms.get(match.group(1), 0) + int(match.group(2))


def run(quick: bool = False) -> dict[str, Any]:
    # Importing the handlers is importing the app: it validates the settings.
    os.environ.setdefault("WARDEN_SUBSCRIPTION_IDS", "00000000-0000-0000-0000-000000000001")
    import handlers.incidents  # noqa: F401 - importing the handlers validates the settings
    from shared.bootstrap import reset_container, set_container
    from tests.functional.keys.conftest import ACCOUNT, VAULT
    from tests.functional.response.conftest import GPT, ROGUE, finding, make_estate, policy_copy
    from tests.functional.response.support import run_incident

    os.environ["WARDEN_KEY_VAULTS"] = VAULT
    os.environ["WARDEN_KEY_PROBE_DELAY_SECONDS"] = "0"
    playbooks = {
        "jailbreak": finding(
            "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt", GPT, category="jailbreak", key="b-jb"
        ),
        "credential_theft": finding(
            "defender:AI.Azure_CredentialTheftAttempt", ACCOUNT, category="credential_theft", key="b-ct"
        ),
        "suspicious_ip": finding(
            "defender:AI.Azure_AccessFromSuspiciousIP", ACCOUNT, category="suspicious_access", key="b-ip"
        ),
        "unapproved_model": finding("model:unapproved_deployment", ROGUE, key="b-model"),
    }
    if quick:
        playbooks = dict(list(playbooks.items())[:2])
    logging.getLogger().addHandler(logging.NullHandler())  # keep the table on stdout readable
    episodes_log = _EpisodeTimes()
    logging.getLogger("devhost.durable").addHandler(episodes_log)
    logging.getLogger("devhost.durable").setLevel(logging.INFO)
    out: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="warden-bench-orch-") as tmp:
            for name, incident_finding in playbooks.items():
                set_container(make_estate(policy_copy(Path(tmp))).container)
                episodes_log.ms.clear()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                result = run_incident(incident_finding, Path(tmp) / f"{name}.sqlite3")
                out[f"{name}_history_events"] = result.history_events
                out[f"{name}_replays"] = result.episodes
                out[f"{name}_orchestrator_ms"] = episodes_log.ms.get("incident_orchestrator", 0)
                out[f"{name}_process_cpu_ms"] = round((time.process_time() - cpu0) * 1000)
                out[f"{name}_wall_ms"] = round((time.perf_counter() - wall0) * 1000)
                out[f"{name}_steps"] = [s["status"] for s in result.open_status["steps"]]
                reset_container()
    finally:
        logging.getLogger("devhost.durable").removeHandler(episodes_log)
    return out
