"""Usage anomalies, the model allowlist and posture: the pure rules whose findings join incidents.

* ``detectors``: the KQL detectors (``shared/kql/anomaly_*.kql`` and ``key_operations``); rows
  become ``Finding`` objects with stable dedupe keys;
* ``events``: ARM resource events (Event Grid subscription topic) -> unapproved deployments and
  key operations by anyone but Warden;
* ``allowlist``, ``posture``: the model allowlist and posture rules.

What runs them against Azure and ingests their findings is ``shared.usecases.anomalies`` (the
detectors, the resource-event trigger) and ``shared.usecases.estate_sweep`` (the scheduled sweep).
"""
