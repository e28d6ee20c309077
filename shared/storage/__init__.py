"""Warden's own state: quarantine of bad input, poll watermarks, idempotency records.

Ports (``ports.py``) with two adapters each: Azure Table Storage (``tables.py``; Azurite
locally) and in-memory fakes (``memory.py``) for unit tests. The same contract tests run
against both, so the fakes cannot drift from the real behaviour.
"""
