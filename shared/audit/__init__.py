"""Tamper-evident audit trail: every decision and action, hash-chained.

See ``chain.py`` for the record format and verification, ``store.py`` for the stores.
"""
