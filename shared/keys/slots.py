"""The two API keys every Cognitive Services account has: ``key1`` and ``key2``.

Key Vault's dual-credential convention names them ``key1``/``key2`` in the ``CredentialId``
tag; ARM's ``regenerateKey`` wants ``Key1``/``Key2``. ``KeySlot`` is both, and parses either.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["KeySlot"]


class KeySlot(StrEnum):
    """One of an account's two keys. The value is the Key Vault tag spelling (``key1``)."""

    KEY1 = "key1"
    KEY2 = "key2"

    @property
    def other(self) -> KeySlot:
        """The alternate key: the one a scheduled rotation regenerates."""
        return KeySlot.KEY2 if self is KeySlot.KEY1 else KeySlot.KEY1

    @property
    def arm_name(self) -> str:
        """The ``keyName`` ARM's ``regenerateKey`` expects (``Key1`` / ``Key2``)."""
        return "Key1" if self is KeySlot.KEY1 else "Key2"

    @classmethod
    def parse(cls, value: object) -> KeySlot:
        """``key1``/``Key1``/``KEY1`` (surrounding spaces ignored) -> ``KeySlot.KEY1``, etc.

        Raises ``ValueError`` naming the value and the accepted spellings.
        """
        if isinstance(value, str):
            text = value.strip().lower()
            for member in cls:
                if member.value == text:
                    return member
        raise ValueError(f"unknown key name {value!r}; expected 'key1' or 'key2' (any case)")
