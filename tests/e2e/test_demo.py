"""`warden demo` — the README's first command — runs every scenario to its expected end state."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from cli.demo import SCENARIOS, keep_running_notice

ROOT = Path(__file__).resolve().parents[2]


def test_demo_reaches_every_expected_end_state(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--workdir", str(tmp_path / "demo")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "DEMO OK" in done.stdout
    assert "✗" not in done.stdout
    for title, _ in SCENARIOS:  # every scenario ran (a skipped one would not print its title)
        assert f"== {title}" in done.stdout, title


def test_keep_running_names_the_approval_page_and_an_approver_principal() -> None:
    lines = keep_running_notice("http://127.0.0.1:7071")
    assert "  approval page: http://127.0.0.1:7071/api/approvals/page" in lines
    export = next(line for line in lines if "WARDEN_CLIENT_PRINCIPAL=" in line)
    principal = json.loads(base64.b64decode(export.split("=", 1)[1]))
    assert {"typ": "roles", "val": "Warden.Approver"} in principal["claims"]
