"""Command-line helpers for policies: ``validate_command`` backs ``warden policy validate``.

Run directly for the maintenance tasks too::

    python -m shared.policy.cli validate policy.yaml
    python -m shared.policy.cli schema --write shared/policy/policy.schema.json
    python -m shared.policy.cli reference --write docs/policy.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from shared.policy.errors import PolicyError
from shared.policy.loader import load_policy
from shared.policy.reference import reference_markdown, splice_reference
from shared.policy.schema import policy_json_schema

__all__ = ["main", "schema_text", "validate_command"]


def validate_command(path: str | os.PathLike[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Validate the policy at ``path``: print ``NAME: OK (N rules, M playbooks)`` and return 0,
    or print one ``NAME:LINE: PATH: MESSAGE`` line per problem (to ``err``) and return 1."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return 1
    name = Path(path).name or str(path)
    print(f"{name}: OK ({len(policy.rules)} rules, {len(policy.playbooks)} playbooks)", file=out)
    return 0


def schema_text() -> str:
    """The committed form of the JSON Schema (``policy.schema.json``)."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shared.policy.cli``."""
    parser = argparse.ArgumentParser(prog="python -m shared.policy.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="validate a policy file")
    validate.add_argument("path", nargs="?", default="policy.yaml")
    schema = sub.add_parser("schema", help="print (or --write) the policy JSON Schema")
    schema.add_argument("--write", metavar="FILE")
    reference = sub.add_parser("reference", help="print the field reference, or --write it into a document")
    reference.add_argument("--write", metavar="FILE", help="replace the generated section of FILE")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate_command(args.path)
    if args.command == "schema":
        if args.write:
            Path(args.write).write_text(schema_text(), encoding="utf-8")
        else:
            sys.stdout.write(schema_text())
        return 0
    if args.write:
        target = Path(args.write)
        target.write_text(splice_reference(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(reference_markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
