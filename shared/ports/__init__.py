"""Ports: what Warden's use cases ask of the outside world, one module per port.

Each module holds the ``Protocol``, the data it exchanges and the errors it raises; the
implementations live in ``shared.azure`` (Azure SDKs), ``shared.storage`` (Table Storage and
in-process stores) and, for tests, ``tests/fakes.py``. Nothing here does I/O.

==================  ==================================================================
module              port
==================  ==================================================================
``cognitive``       ARM for Azure OpenAI / AI Services accounts, keys, deployments, RAI policies
``secrets``         Key Vault secrets holding account keys
``inventory``       the estate's AI accounts (Resource Graph)
``logs``            Warden's named KQL queries on Log Analytics
``posture``         diagnostic settings and the Defender for AI plan
``probe``           proving a key works on an account's data plane
``channels``        where notifications go (Event Grid topic, Teams)
``stores``          Warden's own state: quarantine, watermarks, idempotency, open incidents and
                    their findings, approvals, snapshots, the circuit breaker, the audit trail
==================  ==================================================================
"""
