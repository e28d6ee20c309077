"""A simulated application that uses an account key the way Key Vault consumers should.

It reads the key from Key Vault once, calls the account's data plane in a loop with it, and on a
401 re-reads the secret and retries once. A request that fails even after the re-read is a
failed request (downtime). It uses its own real SDK clients (its own token) against the emulator.
"""

from __future__ import annotations

import threading

from emulator import Emulator
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.ports.probe import KeyRejectedError
from tests.functional.keys.conftest import SECRET, VAULT, settings


class Consumer(threading.Thread):
    def __init__(self, emulator: Emulator, endpoint: str) -> None:
        super().__init__(name="key-consumer", daemon=True)
        clients = AzureClients(
            settings(), credential=StaticTokenCredential("consumer-token"), transport=EmulatorTransport(emulator)
        )
        self._secrets = clients.secrets(VAULT)
        self._probe = clients.data_plane()
        self.endpoint = endpoint
        self.key = self._read()
        self.requests = 0
        self.unauthorized = 0
        self.rereads = 0
        self.failed = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def _read(self) -> str:
        value = self._secrets.get_secret(SECRET).value
        assert value
        return value

    def request_once(self) -> bool:
        """One application request; True when it succeeded (possibly after one re-read)."""
        with self._lock:
            self.requests += 1
            try:
                self._probe.check_key(self.endpoint, self.key)
                return True
            except KeyRejectedError:
                self.unauthorized += 1
            self.rereads += 1
            self.key = self._read()
            try:
                self._probe.check_key(self.endpoint, self.key)
                return True
            except KeyRejectedError:
                self.failed += 1
                return False

    def run(self) -> None:
        while not self._halt.is_set():
            self.request_once()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)
