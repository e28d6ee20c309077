"""`warden policy validate` accepts the shipped policy and reports problems with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_policy_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(ROOT / "policy.yaml")]) == 0
    assert ": OK (" in capsys.readouterr().out


def test_bad_policy_is_reported_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text((ROOT / "policy.yaml").read_text().replace("version: 1", "version: 1\nsurprise: true", 1))
    assert main(["policy", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "policy.yaml:" in err and "surprise" in err


def test_schema_is_printed_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["policy", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "object"
