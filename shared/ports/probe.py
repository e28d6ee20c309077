"""The key probe port: proving that an account key works on the account's data plane.

After regenerating a key, Warden must show the new key is accepted before it writes it to Key
Vault, and after an emergency rotation it checks the leaked key is refused. The Azure
implementation is ``shared.azure.dataplane.DataPlaneProbe`` (``GET {endpoint}/openai/models``,
no tokens spent); unit tests use ``tests.fakes.FakeKeyProbe``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["KeyProbe", "KeyRejectedError"]


class KeyRejectedError(Exception):
    """The account's data plane answered 401/403 for the key (the key is not valid)."""


class KeyProbe(Protocol):
    """Proves a key works on an account's data plane.

    ``check_key`` returns when the key is accepted and raises ``KeyRejectedError`` on 401/403
    (any other failure raises the implementation's transport error).
    """

    def check_key(self, endpoint: str, key: str, *, timeout: float = 10.0) -> None: ...
