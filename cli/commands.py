"""Sub-commands of ``warden``. Each ``_add_*`` function registers one command."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register every sub-command on the ``add_subparsers`` object ``sub``."""
    _add_demo(sub)
    _add_serve(sub)
    _add_settings(sub)
    _add_policy(sub)
    _add_audit(sub)


def _add_demo(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="the offline end-to-end demo (emulator + Azurite + devhost); exits 1 if any scenario fails",
        description="Start the local stack and play Warden's scenarios over the real HTTP endpoints, printing "
        "a timeline. Exits non-zero if any scenario misses its expected end state.",
    )
    p.add_argument("--workdir", type=Path, help="state and logs (default: a fresh folder under .warden/demo)")
    p.add_argument("--keep-running", action="store_true", help="leave devhost running afterwards")
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    import time

    from cli.demo import run_demo

    workdir = args.workdir or Path(".warden/demo") / time.strftime("%Y%m%d-%H%M%S")
    return run_demo(workdir.resolve(), keep_running=args.keep_running)


def _add_serve(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run Warden locally: devhost + the Azure emulator (demo tenant) + Azurite",
        description="Start Warden's function_app.py on devhost (a local Functions host; not a production "
        "engine). By default every Azure call goes to the offline emulator loaded with a tenant file and "
        "Table Storage is Azurite. With --azure, the current environment's WARDEN_* settings are used as "
        "they are (DefaultAzureCredential; real Azure).",
    )
    p.add_argument("--port", type=int, default=7071, help="devhost port (default 7071; 0 picks a free one)")
    p.add_argument("--tenant", type=Path, help="emulator tenant file (default: the demo tenant)")
    p.add_argument("--workdir", type=Path, default=Path(".warden/serve"), help="state and logs (default .warden/serve)")
    p.add_argument("--azure", action="store_true", help="use real Azure as configured in the environment")
    p.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    if args.azure:
        from devhost.cli import main as devhost_main

        return devhost_main(["serve", "--port", str(args.port), "--state-dir", str(args.workdir / "devhost")])
    from cli.stack import LocalStack

    stack = LocalStack(args.workdir, tenant=args.tenant, port=args.port)
    print("starting Azurite, the Azure emulator and devhost ...", flush=True)
    with stack:
        print(f"devhost:   {stack.url}  (logs: {args.workdir / 'devhost.log'})")
        print(f"emulator:  {stack.emulator_url}  (admin API under /_emulator/)")
        print(f"master key: {stack.devhost.get('masterKey', '?')}  (local only)")
        print("press Ctrl-C to stop", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


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
