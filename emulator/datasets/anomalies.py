"""A labeled synthetic usage dataset for Warden's anomaly detectors.

``generate_anomaly_dataset(seed=..., now=...)`` builds a tenant (one subscription, a few Azure
OpenAI accounts with deployments, one Log Analytics workspace) whose tables hold ``days`` of
normal traffic ending at ``now``, plus injected anomalies with labels:

* **normal traffic** per account: ``AzureMetrics`` rows every ``grain`` for TokenTransaction,
  ProcessedPromptTokens, AzureOpenAIRequests and (rarely non-zero) RAIRejectedRequests, with a
  per-account level, a daily cycle (peak early afternoon UTC), slow growth and multiplicative
  noise; ``AzureDiagnostics`` RequestResponse rows from a fixed set of caller IPs per account, a
  few scattered 401s; ``AzureActivity`` listKeys / regenerateKey rows by Warden's own identity.
* **injected** (each an ``InjectedAnomaly`` with the detector, account, time bucket and IP):
  a token spike, a request spike (small prompts, so tokens stay normal), an auth-failure burst
  from one IP, a blocked-prompt spike, calls from a never-seen IP, and a listKeys by another
  identity. All fall inside the detectors' look-back at ``now``.

Deterministic: the same ``seed`` and ``now`` give the same rows. ``inject=False`` gives the
same normal traffic without anomalies ("normal traffic raises nothing"). ``magnitude`` scales
the injected volumes (the benchmark draws it at random to measure recall).
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SUBSCRIPTION_ID",
    "WARDEN_PRINCIPAL_ID",
    "WORKSPACE_ID",
    "AnomalyDataset",
    "InjectedAnomaly",
    "generate_anomaly_dataset",
    "label_matches",
]

SUBSCRIPTION_ID = "5a1e0c3b-7d2f-4e8a-9b6c-0d1e2f3a4b5c"
WORKSPACE_ID = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
WORKSPACE_NAME = "law-warden-anomalies"
RESOURCE_GROUP = "rg-ai-usage"
WARDEN_PRINCIPAL_ID = "0b7e3f52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_PRINCIPAL = "mallory@contoso.example"


@dataclass(frozen=True, slots=True)
class InjectedAnomaly:
    """One injected anomaly: what should find it, where and when."""

    detector: str
    """``token_spike``, ``request_spike``, ``auth_failure_burst``, ``blocked_prompt_spike``,
    ``new_caller_ip`` or ``key_operation_by_other``."""
    account_id: str
    """ARM id of the account (as the tenant writes it)."""
    start: datetime
    """Start of the injected activity (for spikes: the start of the hour bin)."""
    caller_ip: str | None = None
    note: str = ""


@dataclass
class AnomalyDataset:
    """The tenant (``emulator.tenant`` data) and the labels of what was injected."""

    now: datetime
    seed: int
    accounts: list[str]
    labels: list[InjectedAnomaly]
    tables: dict[str, list[dict[str, Any]]]
    deployments: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    """account id -> (deployment name, model name, model version)."""

    def tenant(self, **account_overrides: Any) -> dict[str, Any]:
        """Tenant data for ``Emulator(...)``; rows are in the workspace, deployments on accounts.

        ``account_overrides`` are extra fields for every account (e.g. ``diagnostic_settings``).
        """
        accounts = []
        for account_id in self.accounts:
            name = account_id.rsplit("/", 1)[-1]
            accounts.append(
                {
                    "name": name,
                    "kind": "OpenAI",
                    "tags": {"owner": "ai-platform@contoso.example"},
                    "deployments": [
                        {"name": dep, "model": {"name": model, "version": version, "format": "OpenAI"}}
                        for dep, model, version in self.deployments.get(account_id, [])
                    ],
                    **account_overrides,
                }
            )
        return {
            "principals": {"warden-emulator-token": WARDEN_PRINCIPAL_ID},
            "subscriptions": [
                {
                    "id": SUBSCRIPTION_ID,
                    "name": "Contoso AI usage",
                    "activity_log_workspace": WORKSPACE_NAME,
                    "resource_groups": [
                        {
                            "name": RESOURCE_GROUP,
                            "location": "eastus",
                            "accounts": accounts,
                            "workspaces": [
                                {
                                    "name": WORKSPACE_NAME,
                                    "customer_id": WORKSPACE_ID,
                                    "tables": {k: list(v) for k, v in self.tables.items()},
                                }
                            ],
                        }
                    ],
                }
            ],
        }

    def labels_for(self, detector: str) -> list[InjectedAnomaly]:
        return [label for label in self.labels if label.detector == detector]


def _account_id(name: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.CognitiveServices/accounts/{name}"
    )


def _metric(account_id: str, when: datetime, metric: str, total: float, grain: timedelta) -> dict[str, Any]:
    name = account_id.rsplit("/", 1)[-1]
    return {
        "TimeGenerated": when,
        "ResourceProvider": "MICROSOFT.COGNITIVESERVICES",
        "ResourceId": account_id.upper(),
        "_ResourceId": account_id.lower(),
        "Resource": name.upper(),
        "ResourceGroup": RESOURCE_GROUP.upper(),
        "SubscriptionId": SUBSCRIPTION_ID,
        "MetricName": metric,
        "Total": round(total, 3),
        "Count": 1.0,
        "Average": round(total, 3),
        "Maximum": round(total, 3),
        "Minimum": round(total, 3),
        "TimeGrain": f"PT{int(grain.total_seconds() // 60)}M",
        "UnitName": "Count",
    }


def _request(account_id: str, when: datetime, ip: str, status: str, rng: random.Random) -> dict[str, Any]:
    name = account_id.rsplit("/", 1)[-1]
    return {
        "TimeGenerated": when,
        "ResourceProvider": "MICROSOFT.COGNITIVESERVICES",
        "ResourceId": account_id.upper(),
        "_ResourceId": account_id.lower(),
        "Resource": name.upper(),
        "ResourceGroup": RESOURCE_GROUP.upper(),
        "SubscriptionId": SUBSCRIPTION_ID,
        "Category": "RequestResponse",
        "OperationName": "ChatCompletions_Create",
        "CallerIPAddress": ip,
        "ResultSignature": status,
        "DurationMs": rng.randint(200, 4000),
        "CorrelationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }


def _activity(account_id: str, when: datetime, operation: str, caller: str, rng: random.Random) -> dict[str, Any]:
    return {
        "TimeGenerated": when,
        "OperationNameValue": f"MICROSOFT.COGNITIVESERVICES/ACCOUNTS/{operation.upper()}/ACTION",
        "ActivityStatusValue": "Success",
        "Caller": caller,
        "CallerIpAddress": "20.42.0.1" if caller == WARDEN_PRINCIPAL_ID else "198.51.100.77",
        "CategoryValue": "Administrative",
        "CorrelationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ResourceId": account_id.upper(),
        "_ResourceId": account_id.lower(),
        "ResourceGroup": RESOURCE_GROUP.upper(),
        "ResourceProviderValue": "MICROSOFT.COGNITIVESERVICES",
        "SubscriptionId": SUBSCRIPTION_ID,
        "Level": "Informational",
    }


def _daily(when: datetime) -> float:
    hours = when.hour + when.minute / 60.0
    return 1.0 + 0.55 * math.sin(2 * math.pi * (hours - 8.0) / 24.0)


def generate_anomaly_dataset(
    *,
    seed: int = 7,
    now: datetime | None = None,
    days: int = 14,
    accounts: int = 4,
    grain: timedelta = timedelta(minutes=15),
    inject: bool = True,
    magnitude: float = 1.0,
    noise: float = 0.08,
) -> AnomalyDataset:
    """Build the dataset (see the module docstring). ``now`` defaults to the current hour (UTC).

    Raises ``ValueError`` for fewer than 4 accounts, fewer than 3 days or a grain that does not
    divide an hour.
    """
    if accounts < 4 or days < 3 or timedelta(hours=1) % grain:
        raise ValueError("need at least 4 accounts, 3 days, and a grain dividing an hour")
    rng = random.Random(seed)  # nosec B311 # simulated data, not security
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    ids = [_account_id(f"usage-openai-{i:02d}") for i in range(accounts)]
    deployments = {
        account_id: [("chat", "gpt-4o", "2024-11-20"), ("embed", "text-embedding-3-large", "1")] for account_id in ids
    }
    metrics: list[dict[str, Any]] = []
    diagnostics: list[dict[str, Any]] = []
    activity: list[dict[str, Any]] = []
    labels: list[InjectedAnomaly] = []

    levels = {account_id: rng.uniform(20_000, 80_000) for account_id in ids}
    ips = {
        account_id: [f"10.{index}.{n}.{rng.randint(2, 250)}" for n in range(rng.randint(3, 5))]
        for index, account_id in enumerate(ids)
    }
    steps = int((end - start) / grain)
    per_hour = int(timedelta(hours=1) / grain)

    # ---- normal traffic -------------------------------------------------------------------
    for account_id in ids:
        level = levels[account_id] / per_hour
        for i in range(steps):
            when = start + i * grain
            growth = 1.0 + 0.1 * i / steps
            tokens = level * _daily(when) * growth * max(0.2, rng.gauss(1.0, noise))
            requests = tokens / rng.uniform(450, 550)
            prompt = tokens * rng.uniform(0.55, 0.65)
            blocked = 1.0 if rng.random() < 0.05 else 0.0
            metrics.append(_metric(account_id, when, "TokenTransaction", tokens, grain))
            metrics.append(_metric(account_id, when, "ProcessedPromptTokens", prompt, grain))
            metrics.append(_metric(account_id, when, "AzureOpenAIRequests", requests, grain))
            metrics.append(_metric(account_id, when, "RAIRejectedRequests", blocked, grain))
        for hour in range(days * 24):
            base = start + timedelta(hours=hour)
            for ip in ips[account_id]:
                if rng.random() < 0.8:
                    diagnostics.append(
                        _request(account_id, base + timedelta(minutes=rng.randint(0, 59)), ip, "200", rng)
                    )
            if rng.random() < 0.04:  # a stray bad key now and then, far below any burst threshold
                ip = rng.choice(ips[account_id])
                diagnostics.append(_request(account_id, base + timedelta(minutes=rng.randint(0, 59)), ip, "401", rng))
        for day in range(0, days, 3):  # Warden's own rotations: never a finding
            when = start + timedelta(days=day, hours=3, minutes=rng.randint(0, 50))
            activity.append(_activity(account_id, when, "regenerateKey", WARDEN_PRINCIPAL_ID, rng))
            activity.append(_activity(account_id, when + timedelta(seconds=30), "listKeys", WARDEN_PRINCIPAL_ID, rng))

    if inject:
        _inject(rng, end, grain, ids, ips, levels, metrics, diagnostics, activity, labels, magnitude)

    tables = {
        "AzureMetrics": metrics,
        "AzureDiagnostics": diagnostics,
        "AzureActivity": activity,
    }
    return AnomalyDataset(now=end, seed=seed, accounts=ids, labels=labels, tables=tables, deployments=deployments)


def _inject(  # noqa: PLR0917 - private helper, called once
    rng: random.Random,
    end: datetime,
    grain: timedelta,
    ids: list[str],
    ips: dict[str, list[str]],
    levels: dict[str, float],
    metrics: list[dict[str, Any]],
    diagnostics: list[dict[str, Any]],
    activity: list[dict[str, Any]],
    labels: list[InjectedAnomaly],
    magnitude: float,
) -> None:
    per_hour = int(timedelta(hours=1) / grain)
    token_account, request_account, auth_account, blocked_account = ids[0], ids[1], ids[2], ids[3]

    # token spike: an extra `6 x magnitude` hours' worth of tokens in the bin two hours ago
    spike_hour = end - timedelta(hours=2)
    extra = levels[token_account] * 5.0 * magnitude / per_hour
    for k in range(per_hour):
        metrics.append(_metric(token_account, spike_hour + k * grain, "TokenTransaction", extra, grain))
        metrics.append(_metric(token_account, spike_hour + k * grain, "ProcessedPromptTokens", extra * 0.9, grain))
    labels.append(InjectedAnomaly("token_spike", token_account, spike_hour, note=f"+{5.0 * magnitude:.1f}x tokens"))

    # request spike: many tiny requests (enumeration), tokens unchanged
    req_hour = end - timedelta(hours=1)
    extra_requests = levels[request_account] / 500.0 * 6.0 * magnitude / per_hour
    for k in range(per_hour):
        metrics.append(_metric(request_account, req_hour + k * grain, "AzureOpenAIRequests", extra_requests, grain))
    labels.append(InjectedAnomaly("request_spike", request_account, req_hour, note=f"+{6.0 * magnitude:.1f}x requests"))

    # auth-failure burst: 401s from one outside IP within one 5-minute window
    burst_start = end - timedelta(minutes=40)
    burst_ip = "198.51.100.23"
    failures = max(1, int(60 * magnitude))
    for n in range(failures):
        when = burst_start + timedelta(seconds=(n * 240) // failures)
        diagnostics.append(_request(auth_account, when, burst_ip, "401" if n % 5 else "403", rng))
    labels.append(InjectedAnomaly("auth_failure_burst", auth_account, burst_start, burst_ip, f"{failures} failures"))

    # blocked-prompt spike: jailbreak attempts blocked by Prompt Shields within one hour
    blocked_hour = end - timedelta(hours=2)
    blocked = max(1.0, round(40 * magnitude))
    for k in range(per_hour):
        metrics.append(
            _metric(blocked_account, blocked_hour + k * grain, "RAIRejectedRequests", blocked / per_hour, grain)
        )
    labels.append(InjectedAnomaly("blocked_prompt_spike", blocked_account, blocked_hour, note=f"{blocked:.0f} blocked"))

    # a caller IP never seen in the baseline, with successful calls in the last hour
    new_ip = "203.0.113.99"
    first = end - timedelta(minutes=50)
    for n in range(12):
        diagnostics.append(_request(token_account, first + timedelta(minutes=4 * n), new_ip, "200", rng))
    labels.append(InjectedAnomaly("new_caller_ip", token_account, first, new_ip))

    # listKeys by someone other than Warden
    when = end - timedelta(minutes=30)
    row = _activity(request_account, when, "listKeys", OTHER_PRINCIPAL, rng)
    activity.append(row)
    labels.append(InjectedAnomaly("key_operation_by_other", request_account, when, note=str(row["CorrelationId"])))
    del ips


def label_matches(label: InjectedAnomaly, kind: str, account_id: str, evidence: dict[str, Any]) -> bool:
    """Whether a finding (its kind, account id and evidence) is the detection of ``label``.

    Spikes and windows must name the injected bucket; per-caller detections the injected IP;
    the key operation its correlation id. Account ids compare case-insensitively.
    """
    if kind != f"anomaly:{label.detector}" or account_id.lower() != label.account_id.lower():
        return False
    start = label.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if label.detector in ("token_spike", "request_spike"):
        return evidence.get("bin_start") == start
    if label.detector == "blocked_prompt_spike":
        return evidence.get("window_start") == start
    if label.detector == "auth_failure_burst":
        return evidence.get("caller_ip") == label.caller_ip and str(evidence.get("window_start")) <= start < str(
            evidence.get("window_end")
        )
    if label.detector == "new_caller_ip":
        return evidence.get("caller_ip") == label.caller_ip
    return str(evidence.get("correlation_id") or "").lower() == label.note.lower()
