"""Start and stop Azurite (the official Azure Storage emulator, npm ``azurite``) for local runs.

Warden keeps its audit trail, quarantine, watermarks and idempotency records in Table Storage;
locally that is Azurite, installed by ``make setup`` into ``node_modules``. Ports are chosen
free at start so several runs (tests in parallel, a developer's own Azurite) never collide.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["DEV_ACCOUNT", "DEV_KEY", "Azurite", "AzuriteError"]

ROOT = Path(__file__).resolve().parents[1]
# The documented, public development-storage account (not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteError(RuntimeError):
    """Azurite is not installed or did not start."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Azurite:
    """An Azurite process on free loopback ports, with its data in ``location``.

    Use as a context manager, or ``start()`` / ``stop()``. ``table_connection_string`` is the
    connection string for ``azure-data-tables``.
    """

    def __init__(self, location: Path | None = None, *, log_file: Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if location is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="warden-azurite-")
            location = Path(self._tmp.name)
        self.location = location
        self.log_file = log_file
        self.blob_port = self.queue_port = self.table_port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.table_port}/{DEV_ACCOUNT}"

    @property
    def table_connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"TableEndpoint={self.table_endpoint};"
        )

    def start(self, timeout: float = 30.0) -> Azurite:
        node = shutil.which("node")
        script = ROOT / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
        if node is None or not script.is_file():
            raise AzuriteError("Azurite is not installed: run `make setup` (it runs `npm install`)")
        self.location.mkdir(parents=True, exist_ok=True)
        self.blob_port, self.queue_port, self.table_port = _free_port(), _free_port(), _free_port()
        command = [node, str(script), "--silent", "--skipApiVersionCheck", "--location", str(self.location)]
        for service, port in (("blob", self.blob_port), ("queue", self.queue_port), ("table", self.table_port)):
            command += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port)]
        if self.log_file is not None:
            with self.log_file.open("ab") as out:  # the child keeps its own copy of the descriptor
                self._proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603  # nosec B603 # fixed argv, no shell
        else:
            self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603  # nosec B603 # fixed argv, no shell
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AzuriteError(f"Azurite exited with code {self._proc.returncode} during start-up")
            try:
                with socket.create_connection(("127.0.0.1", self.table_port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AzuriteError(f"Azurite did not open its table port {self.table_port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            # Azurite waits for idle keep-alive connections on SIGTERM; give it a moment, then kill.
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
