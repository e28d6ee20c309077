"""Usage anomalies, the model allowlist and posture: detectors whose findings join incidents.

* ``detectors`` / ``runner``: the KQL detectors (``shared/kql/anomaly_*.kql`` and
  ``key_operations``) run through ``LogsPort``; rows become ``Finding`` objects with stable
  dedupe keys; ``ingest_findings`` routes them through ``shared.intake.ingest``.
* ``events``: ARM resource events (Event Grid subscription topic) -> unapproved deployments and
  key operations by anyone but Warden.
* ``allowlist``, ``posture``: pure rules; ``sweep``: the scheduled estate sweep within a call
  budget, and the ingest gate for noisy posture findings; ``ports``: diagnostic settings and
  Defender plans over ARM.
"""

from shared.anomalies.detectors import DETECTORS, Detector, DetectorQuery, floor_time
from shared.anomalies.events import ResourceEvent, ResourceEventDecision, classify_resource_event
from shared.anomalies.runner import DetectionReport, IngestReport, ingest_findings, run_detectors
from shared.anomalies.sweep import SweepReport, run_sweep, select_for_ingest

__all__ = [
    "DETECTORS",
    "DetectionReport",
    "Detector",
    "DetectorQuery",
    "IngestReport",
    "ResourceEvent",
    "ResourceEventDecision",
    "SweepReport",
    "classify_resource_event",
    "floor_time",
    "ingest_findings",
    "run_detectors",
    "run_sweep",
    "select_for_ingest",
]
