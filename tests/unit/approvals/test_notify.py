"""Notifications: escaping in cards, links on cards only, bounded retries that never raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shared.approvals.links import verify_link
from shared.approvals.notices import approval_notice, level_approvers
from shared.approvals.records import ApprovalRecord, EscalationLevelSpec
from shared.notify.escape import card_text
from shared.notify.messages import Notification, adaptive_card, incident_opened, step_completed
from shared.notify.owners import resource_owners
from shared.policy import parse_policy
from shared.usecases.notifications import deliver
from tests.approvals_support import LINK_KEY, XSS, step
from tests.fakes import FakeChannel

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def record(**changes: object) -> ApprovalRecord:
    base = ApprovalRecord(
        instance_id="inc-1:approval:s1-switch-rai-policy",
        incident_id="inc-1",
        step=step(),
        requirement="one_approver",
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=4),
        title="switch to strict filter",
        explanation=XSS + " [click](https://evil.example) **bold** {{DATE(2020-01-01T00:00:00Z)}}",
        escalation=(
            EscalationLevelSpec(approvers=("Warden.Approver",), wait_seconds=3600),
            EscalationLevelSpec(approvers=("secops-leads@contoso.com",), wait_seconds=3600),
        ),
    )
    return base.model_copy(update=changes)


def test_card_text_escapes_markdown_and_templates() -> None:
    text = card_text("[click](https://evil.example) **b** _i_ # h {{DATE()}} <b>")
    assert "\\[click\\]\\(https://evil\\.example\\)" in text
    assert "\\*\\*b\\*\\*" in text and "\\{\\{DATE\\(\\)\\}\\}" in text and "\\<b\\>" in text
    assert card_text("a\x00b\x1bc") == "abc"
    assert len(card_text("x" * 5000, limit=100)) < 200


def test_approval_cards_carry_signed_links_bound_to_each_approver_of_the_level() -> None:
    notice = approval_notice(
        record(),
        kind="escalated",
        level=1,
        default_role="Warden.Approver",
        base_url="https://warden.example.net",
        link_key=LINK_KEY,
        now=NOW,
    )
    assert notice.type == "Warden.Approval.Escalated"
    assert notice.recipients == ("Warden.Approver", "secops-leads@contoso.com")
    links = [a.url for a in notice.actions if "/api/approvals/link?token=" in a.url]
    assert len(links) == 4
    from urllib.parse import parse_qs, urlsplit

    claims = [verify_link(LINK_KEY, parse_qs(urlsplit(u).query)["token"][0], now=NOW) for u in links]
    assert {(c.approver, c.decision) for c in claims} == {
        ("Warden.Approver", "approve"),
        ("Warden.Approver", "reject"),
        ("secops-leads@contoso.com", "approve"),
        ("secops-leads@contoso.com", "reject"),
    }
    assert all(c.expires_at == NOW + timedelta(hours=4) for c in claims)
    # The CloudEvent data carries the page, never a signed link.
    assert "token" not in json.dumps(notice.data) and notice.data["page_url"].endswith("/api/approvals/page")


def test_the_teams_card_escapes_attacker_text() -> None:
    notice = approval_notice(
        record(),
        kind="requested",
        level=0,
        default_role="Warden.Approver",
        base_url="https://warden.example.net",
        link_key=LINK_KEY,
        now=NOW,
    )
    card = adaptive_card(notice)
    content = card["attachments"][0]["content"]
    texts = json.dumps(content["body"])
    assert "[click](https" not in texts and "**bold**" not in texts and "{{DATE" not in texts
    assert "<script>" not in texts.replace("\\\\<script\\\\>", "")
    assert all(action["type"] == "Action.OpenUrl" for action in content["actions"])


def test_without_a_key_or_base_url_there_are_no_links() -> None:
    notice = approval_notice(
        record(), kind="requested", level=0, default_role="Warden.Approver", base_url=None, link_key=None, now=NOW
    )
    assert notice.actions == ()
    assert level_approvers(record(escalation=()), 0, "Warden.Approver") == ("Warden.Approver",)


def test_delivery_retries_a_failing_channel_and_reports_without_raising() -> None:
    flaky = FakeChannel(name="teams", failures=2)
    dead = FakeChannel(name="event_grid", failures=99)
    slept: list[float] = []
    message = Notification(type="Warden.Test", subject="inc-1", data={}, title="t")
    results = deliver([flaky, dead], message, attempts=3, backoff=0.5, sleep=slept.append)
    assert [(r.channel, r.ok, r.attempts) for r in results] == [("teams", True, 3), ("event_grid", False, 3)]
    assert "unavailable" in results[1].error and slept == [0.5, 1.0, 0.5, 1.0]


def test_incident_and_step_notifications_for_the_owners() -> None:
    opened = incident_opened(
        incident_id="inc-1",
        finding_kind="defender:jailbreak",
        resource="/subscriptions/x",
        severity="High",
        owners=["a@contoso.com"],
        summary=XSS,
    )
    done = step_completed(
        incident_id="inc-1",
        step_id="s1",
        action="switch_rai_policy",
        target="/x",
        status="succeeded",
        owners=["a@contoso.com"],
    )
    assert (opened.type, done.type) == ("Warden.Incident.Opened", "Warden.Step.Completed")
    assert "<script>" not in json.dumps(adaptive_card(opened)["attachments"][0]["content"]["body"]).replace("\\\\<", "")


def test_owners_come_from_tags_then_policy_fallbacks() -> None:
    policy = parse_policy(
        "version: 1\nowners:\n  fallback:\n    by_subscription:\n"
        "      00000000-0000-0000-0000-000000000001: [team@contoso.com]\n    default: [secops@contoso.com]\n"
        "playbooks:\n  p:\n    steps:\n      - action: notify_owners\ndefault_playbook: p\n"
    )
    sub = "00000000-0000-0000-0000-000000000001"
    assert resource_owners(
        policy, {"Owner": "a@contoso.com; b@contoso.com", "security-contact": "c@contoso.com"}, sub
    ) == [
        "a@contoso.com",
        "b@contoso.com",
        "c@contoso.com",
    ]
    assert resource_owners(policy, {}, sub) == ["team@contoso.com"]
    assert resource_owners(policy, None, None) == ["secops@contoso.com"]


def test_incident_stages_become_opened_and_step_completed_events() -> None:
    from shared.notify.incident import incident_messages
    from shared.usecases.notifications import send

    planned = incident_messages(
        incident_id="inc-1",
        stage="planned",
        owners=["a@contoso.com"],
        subject="jailbreak",
        finding={"kind": "defender:jailbreak", "severity": "High"},
    )
    responded = incident_messages(
        incident_id="inc-1",
        stage="responded",
        owners=["a@contoso.com"],
        subject="done",
        steps=[{"step_id": "s1", "action": "switch_rai_policy", "target": "/x", "status": "succeeded"}],
    )
    assert [m.type for m in planned + responded] == ["Warden.Incident.Opened", "Warden.Step.Completed"]
    channel = FakeChannel(failures=1)
    statuses = send(planned + responded, channels=[channel])
    assert [s["ok"] for s in statuses] == [True, True] and len(channel.sent) == 2
