"""Azure Table Storage implementations of the state-store ports (``shared.ports.stores``).

One module per store; every table is created on first use. Requires the "Storage Table Data
Contributor" role on the storage account for Warden's managed identity (Azurite locally).

==============================  ===========================  =====================================
table                           store                        module
==============================  ===========================  =====================================
``WardenQuarantine``            ``TableQuarantineStore``     ``state``
``WardenState`` (watermarks)    ``TableWatermarkStore``      ``state``
``WardenIdempotency``           ``TableIdempotencyStore``    ``state``
``WardenOpenIncidents``         ``TableOpenIncidentStore``   ``incidents``
``WardenIncidentFindings``      ``TableIncidentFindingsStore`` ``incidents``
``WardenApprovals``             ``TableApprovalStore``       ``approvals``
``WardenSnapshots``             ``TableSnapshotStore``       ``snapshots``
``WardenDisruptiveActions``     ``TableDisruptiveActionLog`` ``breaker``
``WardenAudit``                 ``TableAuditStore``          ``audit``
==============================  ===========================  =====================================
"""

from shared.storage.tables.approvals import TableApprovalStore
from shared.storage.tables.audit import TableAuditStore
from shared.storage.tables.breaker import TableDisruptiveActionLog
from shared.storage.tables.incidents import TableIncidentFindingsStore, TableOpenIncidentStore
from shared.storage.tables.snapshots import TableSnapshotStore
from shared.storage.tables.state import TableIdempotencyStore, TableQuarantineStore, TableWatermarkStore

__all__ = [
    "TableApprovalStore",
    "TableAuditStore",
    "TableDisruptiveActionLog",
    "TableIdempotencyStore",
    "TableIncidentFindingsStore",
    "TableOpenIncidentStore",
    "TableQuarantineStore",
    "TableSnapshotStore",
    "TableWatermarkStore",
]
