"""The emulator's model of Kusto's series_decompose_anomalies (seasonal median + trend, residual
scored with Tukey's fence test on the 10th-90th percentiles)."""

from __future__ import annotations

import math
import random

from emulator.queries import series_decompose, series_decompose_anomalies, series_outliers


def daily(days: int = 14, noise: float = 0.05, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [100 * (1 + 0.5 * math.sin(2 * math.pi * i / 24)) * rng.gauss(1, noise) for i in range(days * 24)]


def test_the_seasonal_component_is_the_median_per_phase() -> None:
    values = [1.0, 10.0, 1.0, 10.0, 1.0, 30.0]
    baseline, residual = series_decompose(values, 2, "none")
    assert baseline == [1.0, 10.0] * 3
    assert residual == [0.0, 0.0, 0.0, 0.0, 0.0, 20.0]


def test_linefit_removes_a_linear_trend() -> None:
    values = [2.0 * i + 5 for i in range(10)]
    baseline, residual = series_decompose(values, 0, "linefit")
    assert all(abs(r) < 1e-9 for r in residual)
    assert baseline == values


def test_outlier_scores_are_zero_inside_the_fences_and_scaled_outside() -> None:
    values = [float(v) for v in range(11)]  # p10 = 1, p90 = 9
    scores = series_outliers([*values, 25.0])
    assert scores[5] == 0.0
    assert scores[-1] > 1.5


def test_seasonal_traffic_has_no_anomaly_and_an_injected_spike_is_flagged() -> None:
    values = daily()
    flags, _, _ = series_decompose_anomalies(values, 3.0, 24, "linefit")
    assert 1 not in flags
    values[-3] *= 4
    flags, scores, baseline = series_decompose_anomalies(values, 3.0, 24, "linefit")
    assert [i for i, f in enumerate(flags) if f == 1] == [len(values) - 3]
    assert scores[-3] > 3.0 and baseline[-3] < values[-3]


def test_a_flat_series_scores_deviations_in_raw_units() -> None:
    flags, scores, _ = series_decompose_anomalies([0.0] * 50 + [5.0], 1.5, 0, "avg")
    assert flags[-1] == 1 and math.isfinite(scores[-1])
