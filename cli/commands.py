"""Sub-commands of ``warden``. Each ``_add_*`` function registers one command."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register every sub-command on the ``add_subparsers`` object ``sub``."""
    _add_settings(sub)
    _add_policy(sub)
    _add_audit(sub)


def _add_settings(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "settings",
        help="validate the application settings in the environment and print them (secrets hidden)",
        description="Read every WARDEN_* setting from the environment, validate it as the Function App "
        "does at start-up, and print the result. Exit code 1 names each bad setting.",
    )
    p.set_defaults(handler=_settings)


def _settings(args: argparse.Namespace) -> int:
    from shared.settings import load_settings

    settings = load_settings()
    for name, value in settings.model_dump().items():
        print(f"{name}: {value}")
    return 0


def _add_policy(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "policy",
        help="validate or inspect the response policy (policy.yaml)",
        description="Policy-as-code tools. The policy maps findings to playbooks, approvals, thresholds, "
        "allowlists, owners and protected resources; see docs/policy.md.",
    )
    policy_sub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    policy_sub.required = True
    validate = policy_sub.add_parser(
        "validate",
        help="check a policy file; every problem is printed as FILE:LINE: path: message",
        description="Parse and validate a policy file exactly as Warden does at start-up. Exit 0 when valid, "
        "1 with one line per problem otherwise.",
    )
    validate.add_argument("path", nargs="?", default="policy.yaml", help="the policy file (default: policy.yaml)")
    validate.set_defaults(handler=_policy_validate)
    schema = policy_sub.add_parser("schema", help="print the policy's JSON Schema (for editors)")
    schema.set_defaults(handler=_policy_schema)


def _policy_validate(args: argparse.Namespace) -> int:
    from shared.policy.cli import validate_command

    return validate_command(args.path)


def _policy_schema(args: argparse.Namespace) -> int:
    from shared.policy import policy_json_schema

    print(json.dumps(policy_json_schema(), indent=2))
    return 0


def _add_audit(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="inspect the tamper-evident audit trail",
        description="Commands on Warden's audit trail in Table Storage (WARDEN_TABLES_ENDPOINT or "
        "WARDEN_TABLES_CONNECTION_STRING).",
    )
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    audit_sub.required = True
    verify = audit_sub.add_parser(
        "verify",
        help="check the hash chain; exit 1 if any record was altered or removed",
        description="Walk every audit record in order and check sequence, links and hashes. Prints the "
        "head (sequence and hash) so it can be anchored elsewhere.",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=_audit_verify)


def _audit_verify(args: argparse.Namespace) -> int:
    from shared.bootstrap import container

    report = container().audit.verify()
    if args.json:
        print(json.dumps(report.model_dump(), indent=2))
    else:
        state = "OK" if report.ok else "BROKEN"
        print(f"audit chain {state}: {report.records} records, head {report.head_seq} {report.head_hash}")
        for problem in report.problems:
            print(f"  - {problem}")
    return 0 if report.ok else 1
