"""The usage-anomaly detectors: which named query each runs, with which parameters, and how its
rows become ``Finding`` objects. Pure: no I/O, no clock (``now`` is always passed in).

Each detector is a named KQL query in ``shared/kql`` (``anomaly_*``; the key-operation detector
reuses ``key_operations``). Thresholds and windows come from the policy's ``anomalies`` section.
Windows are aligned to the bin size so a detection is reported for the same time bucket however
often the timer runs: ``until`` is ``now`` floored to the bin, and each run re-examines the last
few buckets (``lookback``) to survive late ingestion and missed runs. Dedupe keys are
``anomaly:<detector>|<resource>|<bucket>`` (plus the caller IP or operation where the detection
is per caller), so a bucket seen by several runs is ingested once (``shared.intake``).

=========================  ===============================  ===========================================
kind                       query                            one finding per
=========================  ===============================  ===========================================
anomaly:token_spike        anomaly_token_spike              account x hour bin with flag +1
anomaly:request_spike      anomaly_request_spike            account x hour bin with flag +1
anomaly:auth_failure_burst anomaly_auth_failure_burst       account x caller IP x window >= count
anomaly:blocked_prompt_    anomaly_blocked_prompt_spike     account x window >= count
spike
anomaly:new_caller_ip      anomaly_new_caller_ip            account x caller IP first seen in window
anomaly:key_operation_     key_operations                   listKeys / regenerateKey by a caller that
by_other                                                    is not WARDEN_IDENTITY_PRINCIPAL_ID
=========================  ===============================  ===========================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.finding import Finding, FindingSource, Severity
from shared.keys.activity import KeyOperation, RowError
from shared.policy.schema import AnomalyPolicy, BurstDetector, NewCallerIpDetector, SpikeDetector, SwitchDetector
from shared.resource_ids import AccountId, InvalidResourceIdError

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorQuery",
    "RowProblemError",
    "floor_time",
    "key_operation_dedupe_key",
    "key_operation_finding",
]

DAY = timedelta(days=1)


class RowProblemError(ValueError):
    """A query row that cannot become a finding (names the column and value)."""


def floor_time(when: datetime, size: timedelta) -> datetime:
    """``when`` floored to a multiple of ``size`` since the Unix epoch (Kusto ``bin()``)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((when.astimezone(UTC) - epoch) // size) * size


@dataclass(frozen=True, slots=True)
class DetectorQuery:
    """One run of a detector's query: its parameters and the Log Analytics timespan."""

    params: dict[str, Any]
    timespan: tuple[datetime, datetime]
    window: dict[str, str] = field(default_factory=dict)
    """What the run looked at (ISO times), copied into each finding's evidence."""
    context: dict[str, Any] = field(default_factory=dict)
    """Facts the row parser needs beyond the row (``warden``: Warden's principal id)."""


@dataclass(frozen=True, slots=True)
class Detector:
    """A detector: its policy section name, finding kind, query builder and row parser."""

    name: str
    kind: str
    query: str
    build: Callable[[Any, datetime], DetectorQuery]
    parse: Callable[[Mapping[str, Any], Any, DetectorQuery], Finding | None]

    def settings(self, policy: AnomalyPolicy) -> Any:
        return getattr(policy, self.name)


# ---------------------------------------------------------------------------------------------
# row helpers
# ---------------------------------------------------------------------------------------------
def _time(row: Mapping[str, Any], column: str) -> datetime:
    value = row.get(column)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RowProblemError(f"{column}={value!r}: expected an ISO-8601 time") from None
    if not isinstance(value, datetime):
        raise RowProblemError(f"{column}={value!r}: expected a time")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _number(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RowProblemError(f"{column}={value!r}: expected a number")
    try:
        number = float(value)
    except ValueError:
        raise RowProblemError(f"{column}={value!r}: expected a number") from None
    if not math.isfinite(number):
        raise RowProblemError(f"{column}={value!r}: expected a finite number")
    return number


def _account(row: Mapping[str, Any]) -> AccountId:
    raw = str(row.get("ResourceId") or "").strip()
    try:
        return AccountId.parse(raw)
    except InvalidResourceIdError as exc:
        raise RowProblemError(f"ResourceId: {exc}") from None


def _ip(row: Mapping[str, Any]) -> str:
    value = str(row.get("CallerIPAddress") or "").strip()
    if not value or len(value) > 64:
        raise RowProblemError(f"CallerIPAddress={value[:80]!r}: expected an IP address")
    return value


def _key(detector: str, account: AccountId, *parts: str) -> str:
    return "|".join([f"anomaly:{detector}", str(account).lower(), *parts])[:512]


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _finding(
    *,
    kind: str,
    severity: Any,
    title: str,
    account: AccountId,
    evidence: dict[str, Any],
    dedupe: str,
    first_seen: datetime,
    last_seen: datetime,
) -> Finding:
    return Finding(
        source=FindingSource.ANOMALY,
        kind=kind,
        severity=Severity(severity),
        title=title[:500],
        resource=account,
        evidence=evidence,
        dedupe_key=dedupe,
        first_seen=first_seen,
        last_seen=max(first_seen, last_seen),
    )


# ---------------------------------------------------------------------------------------------
# spikes (series_decompose_anomalies)
# ---------------------------------------------------------------------------------------------
SPIKE_LOOKBACK_BINS = 3
"""Bins (before ``until``) each run re-examines: late metrics and a missed run are covered."""


def _seasonality(step: timedelta, baseline: timedelta) -> int:
    """The daily period in bins, when a day is a whole number of bins and the baseline holds two
    days; otherwise 0 (no seasonal component)."""
    if step <= timedelta(0) or DAY % step or baseline < 2 * DAY:
        return 0
    return DAY // step


def _build_spike(config: SpikeDetector, now: datetime, metric: str) -> DetectorQuery:
    until = floor_time(now, config.step)
    since = until - config.baseline
    detect_since = until - SPIKE_LOOKBACK_BINS * config.step
    params = {
        "since": since,
        "until": until,
        "detect_since": detect_since,
        "bin_size": config.step,
        "threshold": float(config.score_threshold),
        "seasonality": _seasonality(config.step, config.baseline),
        "metric": metric,
    }
    window = {"baseline_from": _iso(since), "until": _iso(until), "detect_from": _iso(detect_since)}
    return DetectorQuery(params, (since, until), window)


def _parse_spike(name: str, kind: str, what: str) -> Callable[[Mapping[str, Any], Any, DetectorQuery], Finding]:
    def parse(row: Mapping[str, Any], config: SpikeDetector, run: DetectorQuery) -> Finding:
        start = _time(row, "TimeGenerated")
        account = _account(row)
        value = _number(row, "Value")
        baseline = _number(row, "Baseline")
        score = _number(row, "Score")
        end = start + config.step
        return _finding(
            kind=kind,
            severity=config.severity,
            title=f"{what} spike on {account.name}: {value:,.0f} in {start:%Y-%m-%d %H:%M}Z bin "
            f"(baseline {baseline:,.0f}, score {score:.1f})",
            account=account,
            evidence={
                "detector": name,
                "metric": str(row.get("MetricName") or run.params.get("metric") or ""),
                "value": value,
                "baseline": baseline,
                "score": score,
                "threshold": run.params["threshold"],
                "bin_start": _iso(start),
                "bin_end": _iso(end),
                "bin_size_seconds": int(config.step.total_seconds()),
                "window": dict(run.window),
            },
            dedupe=_key(name, account, _iso(start)),
            first_seen=start,
            last_seen=end,
        )

    return parse


# ---------------------------------------------------------------------------------------------
# bursts (count in a tumbling window)
# ---------------------------------------------------------------------------------------------
def burst_lookback(window: timedelta) -> timedelta:
    """How far back a burst run looks: three windows, at least an hour (whole windows)."""
    windows = max(3, -(-timedelta(hours=1) // window))
    return windows * window


def _build_burst(config: BurstDetector, now: datetime) -> DetectorQuery:
    until = floor_time(now, config.window)
    since = until - burst_lookback(config.window)
    return DetectorQuery(
        {"since": since, "until": until, "window": config.window},
        (since, until),
        {"from": _iso(since), "until": _iso(until)},
    )


def _build_auth(config: BurstDetector, now: datetime) -> DetectorQuery:
    run = _build_burst(config, now)
    return DetectorQuery({**run.params, "min_count": int(config.count)}, run.timespan, run.window)


def _build_blocked(config: BurstDetector, now: datetime) -> DetectorQuery:
    run = _build_burst(config, now)
    return DetectorQuery({**run.params, "min_count": float(config.count)}, run.timespan, run.window)


def _statuses(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v)[:8] for v in value[:4]] if isinstance(value, list) else []


def _parse_auth(row: Mapping[str, Any], config: BurstDetector, run: DetectorQuery) -> Finding:
    start = _time(row, "WindowStart")
    account = _account(row)
    ip = _ip(row)
    failures = int(_number(row, "Failures"))
    first = _time(row, "FirstSeen") if row.get("FirstSeen") is not None else start
    last = _time(row, "LastSeen") if row.get("LastSeen") is not None else start + config.window
    return _finding(
        kind="anomaly:auth_failure_burst",
        severity=config.severity,
        title=f"{failures} authentication failures from {ip} on {account.name} within {config.window}",
        account=account,
        evidence={
            "detector": "auth_failure_burst",
            "caller_ip": ip,
            "value": failures,
            "baseline": None,
            "score": round(failures / config.count, 3),
            "threshold": config.count,
            "statuses": _statuses(row.get("Statuses")),
            "window_start": _iso(start),
            "window_end": _iso(start + config.window),
            "window": dict(run.window),
        },
        dedupe=_key("auth_failure_burst", account, ip, _iso(start)),
        first_seen=first,
        last_seen=last,
    )


def _parse_blocked(row: Mapping[str, Any], config: BurstDetector, run: DetectorQuery) -> Finding:
    start = _time(row, "WindowStart")
    account = _account(row)
    blocked = _number(row, "Blocked")
    return _finding(
        kind="anomaly:blocked_prompt_spike",
        severity=config.severity,
        title=f"{blocked:,.0f} prompts blocked by content filtering on {account.name} within {config.window}",
        account=account,
        evidence={
            "detector": "blocked_prompt_spike",
            "metric": "RAIRejectedRequests",
            "value": blocked,
            "baseline": None,
            "score": round(blocked / config.count, 3),
            "threshold": config.count,
            "window_start": _iso(start),
            "window_end": _iso(start + config.window),
            "window": dict(run.window),
        },
        dedupe=_key("blocked_prompt_spike", account, _iso(start)),
        first_seen=start,
        last_seen=start + config.window,
    )


# ---------------------------------------------------------------------------------------------
# first-seen caller IPs
# ---------------------------------------------------------------------------------------------
NEW_IP_DETECTION_WINDOW = timedelta(hours=2)
"""Recent calls are checked against the baseline; an IP stays "new" (with a stable first-seen
time, hence a stable dedupe key) until its first call slides into the baseline."""


def _build_new_ip(config: NewCallerIpDetector, now: datetime) -> DetectorQuery:
    until = floor_time(now, timedelta(minutes=5))
    detect_since = until - NEW_IP_DETECTION_WINDOW
    since = detect_since - config.baseline
    return DetectorQuery(
        {"since": since, "detect_since": detect_since, "until": until},
        (since, until),
        {"baseline_from": _iso(since), "detect_from": _iso(detect_since), "until": _iso(until)},
    )


def _parse_new_ip(row: Mapping[str, Any], config: NewCallerIpDetector, run: DetectorQuery) -> Finding:
    first = _time(row, "FirstSeen")
    last = _time(row, "LastSeen") if row.get("LastSeen") is not None else first
    account = _account(row)
    ip = _ip(row)
    requests = int(_number(row, "Requests")) if row.get("Requests") is not None else 0
    return _finding(
        kind="anomaly:new_caller_ip",
        severity=config.severity,
        title=f"{account.name} called from {ip}, not seen in the past {config.baseline.days} days",
        account=account,
        evidence={
            "detector": "new_caller_ip",
            "caller_ip": ip,
            "value": requests,
            "baseline": 0,
            "score": None,
            "baseline_days": config.baseline.days,
            "first_seen": _iso(first),
            "window": dict(run.window),
        },
        dedupe=_key("new_caller_ip", account, ip, _iso(first)),
        first_seen=first,
        last_seen=last,
    )


# ---------------------------------------------------------------------------------------------
# key operations by anyone but Warden (key_operations, shared with key hygiene)
# ---------------------------------------------------------------------------------------------
KEY_OPERATIONS_LOOKBACK = timedelta(hours=2)


def _build_key_ops(config: SwitchDetector, now: datetime) -> DetectorQuery:
    until = floor_time(now, timedelta(minutes=5))
    since = until - KEY_OPERATIONS_LOOKBACK
    return DetectorQuery({"since": since}, (since, now), {"from": _iso(since)})


def key_operation_dedupe_key(account: AccountId, operation: str, marker: str) -> str:
    """The dedupe key of one key operation, the same from AzureActivity and from Event Grid
    (both carry the ARM correlation id; NOT CONFIRMED that they are always equal)."""
    return _key("key_operation_by_other", account, operation.lower(), marker.lower())


def key_operation_finding(
    *,
    account: AccountId,
    operation: str,
    caller: str,
    caller_ip: str | None,
    correlation_id: str | None,
    key: str | None,
    when: datetime,
    severity: Any,
    expected_caller: str,
    seen_by: str,
) -> Finding:
    """An ``anomaly:key_operation_by_other`` finding (the caller is known not to be Warden)."""
    marker = correlation_id or _iso(when)
    return _finding(
        kind="anomaly:key_operation_by_other",
        severity=severity,
        title=f"{operation} on {account.name} by {caller or 'an unknown caller'} (not Warden)",
        account=account,
        evidence={
            "detector": "key_operation_by_other",
            "operation": operation,
            "caller": caller[:256],
            "caller_ip": caller_ip,
            "correlation_id": correlation_id,
            "key": key,
            "time": _iso(when),
            "expected_caller": expected_caller,
            "seen_by": seen_by,
        },
        dedupe=key_operation_dedupe_key(account, operation, marker),
        first_seen=when,
        last_seen=when,
    )


def _parse_key_op(row: Mapping[str, Any], config: SwitchDetector, run: DetectorQuery) -> Finding | None:
    try:
        op = KeyOperation.from_row(row)
    except RowError as exc:
        raise RowProblemError(str(exc)) from None
    warden = str(run.context.get("warden") or "").lower()
    if not warden or op.caller.lower() == warden:
        return None
    return key_operation_finding(
        account=op.account,
        operation=op.kind.value,
        caller=op.caller,
        caller_ip=op.caller_ip,
        correlation_id=op.correlation_id,
        key=op.key.value if op.key else None,
        when=op.time,
        severity=config.severity,
        expected_caller=warden,
        seen_by="key_operations",
    )


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "token_spike",
        "anomaly:token_spike",
        "anomaly_token_spike",
        lambda c, now: _build_spike(c, now, "TokenTransaction"),
        _parse_spike("token_spike", "anomaly:token_spike", "Token"),
    ),
    Detector(
        "request_spike",
        "anomaly:request_spike",
        "anomaly_request_spike",
        lambda c, now: _build_spike(c, now, "AzureOpenAIRequests"),
        _parse_spike("request_spike", "anomaly:request_spike", "Request"),
    ),
    Detector(
        "auth_failure_burst",
        "anomaly:auth_failure_burst",
        "anomaly_auth_failure_burst",
        _build_auth,
        _parse_auth,
    ),
    Detector(
        "blocked_prompt_spike",
        "anomaly:blocked_prompt_spike",
        "anomaly_blocked_prompt_spike",
        _build_blocked,
        _parse_blocked,
    ),
    Detector("new_caller_ip", "anomaly:new_caller_ip", "anomaly_new_caller_ip", _build_new_ip, _parse_new_ip),
    Detector(
        "key_operation_by_other",
        "anomaly:key_operation_by_other",
        "key_operations",
        _build_key_ops,
        _parse_key_op,
    ),
)
"""Every detector, in the order a run executes them."""


def detector_names() -> Sequence[str]:
    return [d.name for d in DETECTORS]
