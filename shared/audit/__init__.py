"""Tamper-evident audit trail: every decision and action, hash-chained.

``chain.py`` holds the record format and its verification. The store is a port
(``shared.ports.stores.AuditStore``), implemented in ``shared.storage.tables.audit`` and
``shared.storage.memory``.
"""
