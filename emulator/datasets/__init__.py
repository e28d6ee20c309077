"""Labeled synthetic datasets for the emulator (deterministic for a seed)."""

from emulator.datasets.anomalies import AnomalyDataset, InjectedAnomaly, generate_anomaly_dataset, label_matches

__all__ = ["AnomalyDataset", "InjectedAnomaly", "generate_anomaly_dataset", "label_matches"]
