"""The anomaly benchmark runs (quick size) and reports perfect scores on standard injections."""

from __future__ import annotations

from bench.anomalies import run


def test_quick_benchmark_finds_every_standard_injection_without_false_positives() -> None:
    result = run(quick=True)
    assert result["standard.false_positives"] == 0
    standard = {k: v for k, v in result.items() if k.startswith("standard.") and k.endswith(("precision", "recall"))}
    assert len(standard) == 12 and set(standard.values()) == {1.0}
