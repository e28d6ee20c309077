"""Implementations of the state-store ports (``shared.ports.stores``), by technology.

- ``tables``: Azure Table Storage (Azurite locally), one module per store;
- ``memory``: in process (unit tests, and the CLI's read-only scan);
- ``cache``: ``CompletedCache``, an idempotency store that answers repeats of completed keys from
  memory (the intake's storm path).

The same contract tests run against both technologies (``tests/functional/storage``).
"""
