"""The local stack: Azurite, the Azure emulator and devhost, started as real processes.

``warden serve`` and ``warden demo`` (and the e2e tests that need separate processes) start
Warden exactly as a developer would run it: Azurite for Table Storage, ``python -m emulator``
for the Azure APIs (demo tenant by default), and ``python -m devhost serve`` hosting
``function_app.py`` with its app settings pointing at both. Nothing here is used in Azure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from devhost.azurite import Azurite

__all__ = ["ROOT", "LocalStack", "StackError"]

ROOT = Path(__file__).resolve().parents[1]


class StackError(RuntimeError):
    """A part of the local stack did not start; the message says which and where its log is."""


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(encoding="utf-8").strip()
            if text:
                return text
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
            raise StackError(f"{what} exited with code {proc.returncode} during start-up; log {log}:\n{tail}")
        time.sleep(0.1)
    raise StackError(f"{what} did not become ready within {timeout:.0f} s; see {log}")


@dataclass
class TenantFacts:
    """What devhost's app settings need from the tenant file."""

    subscription_ids: list[str]
    workspace_id: str | None
    principal_id: str | None


def tenant_facts(tenant: Path) -> TenantFacts:
    from emulator.tenant import load_tenant

    spec = load_tenant(tenant)
    subs = [s.id for s in spec.subscriptions]
    workspace = None
    for sub in spec.subscriptions:
        for rg in sub.resource_groups:
            for ws in rg.workspaces:
                workspace = workspace or ws.customer_id
    from shared.azure.clients import StaticTokenCredential

    # The emulator records this principal as the Caller of every call made with Warden's token.
    principal = spec.principals.get(StaticTokenCredential().get_token().token)
    return TenantFacts(subscription_ids=subs, workspace_id=workspace, principal_id=principal)


@dataclass
class LocalStack:
    """Azurite + emulator + devhost in ``workdir`` (logs there too).

    ``port`` is devhost's port (0 picks a free one). ``env`` adds or overrides app settings.
    """

    workdir: Path
    tenant: Path | None = None
    app: Path = ROOT / "function_app.py"
    port: int = 0
    seed: int | None = 7
    env: dict[str, str] = field(default_factory=dict)
    azurite: Azurite | None = None
    emulator_url: str = ""
    devhost: dict[str, Any] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _devhost_proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return str(self.devhost["url"])

    def app_settings(self) -> dict[str, str]:
        """The app settings devhost runs with (no secrets other than local emulator ones)."""
        if self.azurite is None:
            raise StackError("the stack is not started")
        from emulator import DEMO_TENANT

        facts = tenant_facts(self.tenant or DEMO_TENANT)
        settings = {
            "WARDEN_SUBSCRIPTION_IDS": ",".join(facts.subscription_ids),
            "WARDEN_EMULATOR_URL": self.emulator_url,
            "WARDEN_TABLES_CONNECTION_STRING": self.azurite.table_connection_string,
            "WARDEN_TASK_HUB": "WardenLocal",
            "WARDEN_POLICY_PATH": str(ROOT / "policy.yaml"),
        }
        if facts.workspace_id:
            settings["WARDEN_LOG_ANALYTICS_WORKSPACE_ID"] = facts.workspace_id
        if facts.principal_id:
            settings["WARDEN_IDENTITY_PRINCIPAL_ID"] = facts.principal_id
        settings.update(self.env)
        return settings

    def start(self, timeout: float = 60.0) -> LocalStack:
        from emulator import DEMO_TENANT

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.azurite = Azurite(self.workdir / "azurite", log_file=self.workdir / "azurite.log").start()
        em_ready = self.workdir / "emulator.url"
        em_ready.unlink(missing_ok=True)
        em_log = self.workdir / "emulator.log"
        command = [sys.executable, "-m", "emulator", "--tenant", str(self.tenant or DEMO_TENANT)]
        command += ["--port", "0", "--ready-file", str(em_ready)]
        if self.seed is not None:
            command += ["--seed", str(self.seed)]
        em = self._spawn(command, em_log, os.environ.copy())
        self.emulator_url = _wait_for_file(em_ready, em, "the emulator", em_log, timeout).splitlines()[0]
        self._start_devhost(timeout)
        return self

    def _start_devhost(self, timeout: float) -> None:
        dh_ready = self.workdir / "devhost.json"
        dh_ready.unlink(missing_ok=True)
        dh_log = self.workdir / "devhost.log"
        env = os.environ.copy()
        env.update(self.app_settings())
        port = self.port or (int(self.devhost["url"].rsplit(":", 1)[1]) if self.devhost else 0)
        command = [sys.executable, "-m", "devhost", "serve", "--app", str(self.app), "--port", str(port)]
        command += ["--state-dir", str(self.workdir / "devhost"), "--ready-file", str(dh_ready)]
        self._devhost_proc = self._spawn(command, dh_log, env)
        self.devhost = json.loads(_wait_for_file(dh_ready, self._devhost_proc, "devhost", dh_log, timeout))

    def restart_devhost(self, *, kill: bool = False, timeout: float = 60.0) -> None:
        """Stop devhost (SIGTERM, or SIGKILL with ``kill``) and start it again on the same port
        with the same state directory (its Durable store and timer status survive)."""
        proc = self._devhost_proc
        if proc is not None and proc.poll() is None:
            if kill:
                proc.kill()
            else:
                proc.terminate()
            proc.wait(timeout=30)
        if proc in self._procs:
            self._procs.remove(proc)
        self._start_devhost(timeout)

    def _spawn(self, command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603  # nosec B603 # fixed argv, no shell
        self._procs.append(proc)
        return proc

    def stop(self) -> None:
        self._stop_processes()
        self._keep_logs()

    def _keep_logs(self) -> None:
        """Copy this stack's logs where a test run collects them (``WARDEN_TEST_LOG_DIR``)."""
        target = os.environ.get("WARDEN_TEST_LOG_DIR")
        if not target:
            return
        import shutil
        import uuid

        folder = Path(target)
        folder.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        for log in self.workdir.glob("*.log"):
            shutil.copyfile(log, folder / f"stack-{tag}-{log.name}")

    def _stop_processes(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
