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
    _add_scan(sub)
    _add_replay(sub)
    _add_settings(sub)
    _add_policy(sub)
    _add_audit(sub)
    _add_incident(sub)
    _add_approvals(sub)


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


def _add_scan(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "scan",
        help="read-only scan of the estate: inventory, key age, posture (real Azure by default)",
        description="Inventory every Azure OpenAI / AI Services account in WARDEN_SUBSCRIPTION_IDS, work out key "
        "age from AzureActivity and Key Vault metadata, and check posture and the model allowlist, with "
        "DefaultAzureCredential (az login, a managed identity...). Changes nothing. Needs Reader on the "
        "subscriptions and Log Analytics Reader on WARDEN_LOG_ANALYTICS_WORKSPACE_ID.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(handler=_scan)


def _scan(args: argparse.Namespace) -> int:
    import sys

    from cli.scan import dump_json, render_table, run_scan

    outcome = run_scan(progress=not args.no_progress and not args.json and sys.stderr.isatty())
    if args.json:
        print(dump_json(outcome))
    else:
        render_table(outcome, print)
    return 0


def _add_replay(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help="send an alert or event file to a running Warden (devhost or Azure) through its Event Grid webhook",
        description="Send FILE to /runtime/webhooks/eventgrid of a running host. FILE holds an Event Grid event or "
        "array, a CloudEvent or array, or a bare Defender alert in any of its formats (wrapped into an Event "
        "Grid event as the Logic App would).",
    )
    p.add_argument("file", type=Path, help="the JSON file ('-' for stdin)")
    p.add_argument("--endpoint", default="http://127.0.0.1:7071", help="host URL (default: local devhost)")
    p.add_argument("--code", help="the eventgrid_extension system key (printed by `warden serve`)")
    p.add_argument(
        "--function",
        default="on_defender_alert_event",
        help="target function (default on_defender_alert_event; also on_key_vault_event, on_resource_event)",
    )
    p.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    import sys

    from cli.replay import replay

    text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
    status, body = replay(text, endpoint=args.endpoint, code=args.code, function=args.function)
    print(f"HTTP {status}{': ' + body if body else ''}")
    return 0 if 200 <= status < 300 else 1


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


def _add_incident(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "incident",
        help="act on an incident through a running Warden (restore its containment)",
        description="Commands that call a running Warden Function App over HTTP.",
    )
    incident_sub = p.add_subparsers(dest="incident_command", metavar="ACTION")
    incident_sub.required = True
    restore = incident_sub.add_parser(
        "restore",
        help="undo an incident's containment from its snapshots (asks for one approval)",
        description="POST /api/incidents/{ID}/restore: starts the restore_incident orchestration, which "
        "asks one approver and then re-applies the incident's snapshots (re-creates deleted deployments, "
        "switches RAI policies back, re-enables what was disabled). Prints the status URLs.",
    )
    restore.add_argument("incident_id", metavar="ID", help="the incident id (inc-...)")
    restore.add_argument(
        "--endpoint", required=True, help="the Function App URL, e.g. https://warden.azurewebsites.net"
    )
    restore.add_argument(
        "--code", help="the function key (default: the WARDEN_FUNCTION_KEY environment variable)", default=None
    )
    restore.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    restore.add_argument("--requested-by", default="", help="who asks (recorded in the audit trail)")
    restore.set_defaults(handler=_incident_restore)


def _incident_restore(args: argparse.Namespace) -> int:
    import os

    import requests

    code = args.code or os.environ.get("WARDEN_FUNCTION_KEY")
    url = f"{args.endpoint.rstrip('/')}/api/incidents/{args.incident_id}/restore"
    body = {"reason": args.reason, "requested_by": args.requested_by or os.environ.get("USER", "cli")}
    try:
        response = requests.post(url, params={"code": code} if code else None, json=body, timeout=60)
    except requests.RequestException as exc:
        print(f"error: cannot reach {url}: {exc}")
        return 1
    if response.status_code != 202:
        print(f"error: {url} answered HTTP {response.status_code}: {response.text[:500]}")
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0


# --- approvals ---------------------------------------------------------------------------------
def _add_approvals(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "approvals",
        help="list, approve or reject pending response steps through a running Warden",
        description="Calls the approvals HTTP API (docs/openapi.yaml). In Azure, App Service Authentication "
        "accepts an Entra access token for the app (--token or WARDEN_ACCESS_TOKEN) and identifies you; "
        "against devhost, pass the X-MS-CLIENT-PRINCIPAL value itself (--principal or WARDEN_CLIENT_PRINCIPAL).",
    )
    approvals_sub = p.add_subparsers(dest="approvals_command", metavar="ACTION")
    approvals_sub.required = True

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--endpoint", required=True, help="the Function App URL, e.g. https://warden.azurewebsites.net"
        )
        parser.add_argument("--token", default=None, help="Entra access token (default: WARDEN_ACCESS_TOKEN)")
        parser.add_argument(
            "--principal", default=None, help="X-MS-CLIENT-PRINCIPAL (devhost; default: WARDEN_CLIENT_PRINCIPAL)"
        )
        parser.add_argument("--json", action="store_true", help="print the raw JSON answer")

    listing = approvals_sub.add_parser("list", help="pending approvals, oldest first")
    common(listing)
    listing.set_defaults(handler=_approvals_list)
    for verb in ("approve", "reject"):
        decide = approvals_sub.add_parser(verb, help=f"{verb} one step of an incident (with a justification)")
        common(decide)
        decide.add_argument("incident_id", metavar="INCIDENT")
        decide.add_argument("step_id", metavar="STEP")
        decide.add_argument("-j", "--justification", required=True, help="why (recorded in the audit trail)")
        decide.set_defaults(handler=_approvals_decide, decision=verb)


def _approvals_headers(args: argparse.Namespace) -> dict[str, str]:
    import os

    headers = {"X-Warden-Channel": "cli"}
    token = args.token or os.environ.get("WARDEN_ACCESS_TOKEN")
    principal = args.principal or os.environ.get("WARDEN_CLIENT_PRINCIPAL")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if principal:
        headers["X-MS-CLIENT-PRINCIPAL"] = principal
    return headers


def _approvals_call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    import requests

    url = f"{args.endpoint.rstrip('/')}/api/{path}"
    try:
        response = requests.request(method, url, json=body, headers=_approvals_headers(args), timeout=60)
    except requests.RequestException as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}")
        return 0, None
    try:
        payload = response.json()
    except ValueError:
        payload = {"error": {"message": response.text[:300]}}
    return response.status_code, payload


def _approvals_failed(status: int, payload: Any) -> int:
    if status == 0:
        return 1
    message = (payload or {}).get("error", {}).get("message", "") if isinstance(payload, dict) else ""
    print(f"error: HTTP {status}: {message}")
    return 1


def _approvals_list(args: argparse.Namespace) -> int:
    status, payload = _approvals_call(args, "GET", "approvals")
    if status != 200:
        return _approvals_failed(status, payload)
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    items = payload.get("approvals", [])
    if not items:
        print("nothing is waiting for approval")
    for item in items:
        print(
            f"{item['incident_id']} {item['step_id']}: {item['action']} on {item['target']} "
            f"({item['approvals']}/{item['approvals_needed']} approvals, expires {item['expires_at']})"
        )
    return 0


def _approvals_decide(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    path = f"approvals/{quote(args.incident_id, safe='')}/{quote(args.step_id, safe='')}/decision"
    status, payload = _approvals_call(
        args, "POST", path, {"decision": args.decision, "justification": args.justification}
    )
    if status != 200:
        return _approvals_failed(status, payload)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        verb = "approved" if args.decision == "approve" else "rejected"
        print(f"{verb} {args.incident_id} {args.step_id}: the step is now {payload['status']}")
    return 0
