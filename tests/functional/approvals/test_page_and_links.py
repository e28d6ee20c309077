"""The approval page and the one-click links over devhost: escaping, security headers, CSRF,
tampered / expired / replayed / misdirected links, and GET never deciding."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import requests

from devhost.server import DevHostThread
from shared.approvals.links import sign_link
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import LINK_KEY, XSS, headers_for
from tests.functional.approvals.conftest import seed

STEP = "s1-switch-rai-policy"
PAGE = "/api/approvals/page"


def _csrf(html: str) -> str:
    match = re.search(r'name=csrf value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _token(html: str) -> str:
    match = re.search(r'name=token value="([^"]+)"', html)
    assert match
    return match.group(1)


def link(decision: str = "approve", approver: str = "alice@contoso.com", expires: datetime | None = None) -> str:
    return sign_link(
        LINK_KEY,
        incident_id="inc-1",
        step_id=STEP,
        decision=decision,  # type: ignore[arg-type]
        approver=approver,
        expires_at=expires or datetime.now(UTC) + timedelta(hours=1),
    )


def test_the_page_escapes_alert_text_and_sends_strict_headers(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps, explanation=XSS, evidence={"description": XSS})
    response = requests.get(warden.url + PAGE, headers=headers_for(), timeout=30)
    assert response.status_code == 200
    html = response.text
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&quot;&gt;&lt;img" in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'name=viewport content="width=device-width' in html
    assert "<button class=approve" in html and "<button class=reject" in html


def test_a_non_approver_sees_no_buttons(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    response = requests.get(warden.url + PAGE, headers=headers_for("eve@contoso.com", roles=()), timeout=30)
    assert response.status_code == 403
    assert "<button" not in response.text and "<form" not in response.text


def test_the_page_requires_sign_in(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    response = requests.get(warden.url + PAGE, timeout=30)
    assert response.status_code == 401 and "not signed in" in response.text


def test_page_decisions_need_the_csrf_token_and_the_same_origin(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    form = {"incident_id": "inc-1", "step_id": STEP, "decision": "approve", "justification": "ok"}
    post = warden.url + PAGE + "/decide"
    no_token = requests.post(post, data=form, headers=headers_for(), timeout=30)
    assert no_token.status_code == 403 and "security token" in no_token.text
    # A token minted for someone else does not work either.
    other = requests.get(warden.url + PAGE, headers=headers_for("bob@contoso.com"), timeout=30).text
    stolen = requests.post(post, data={**form, "csrf": _csrf(other)}, headers=headers_for(), timeout=30)
    assert stolen.status_code == 403
    csrf = _csrf(requests.get(warden.url + PAGE, headers=headers_for(), timeout=30).text)
    cross = requests.post(
        post, data={**form, "csrf": csrf}, headers={**headers_for(), "Origin": "https://evil.example"}, timeout=30
    )
    assert cross.status_code == 403
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()
    ok = requests.post(post, data={**form, "csrf": csrf}, headers={**headers_for(), "Origin": warden.url}, timeout=30)
    assert ok.status_code == 200 and "You approved step" in ok.text
    record = deps.service.get_record(f"inc-1:approval:{STEP}")
    assert record.status.value == "approved" and record.decisions[0].channel == "page"


def test_opening_a_link_only_shows_a_confirmation(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    token = link()
    page = requests.get(f"{warden.url}/api/approvals/link?token={quote(token)}", headers=headers_for(), timeout=30)
    assert page.status_code == 200 and "Confirm: Approve" in page.text
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()  # GET never decides


def test_a_link_decides_once_and_a_replay_is_refused(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps, requirement="two_approvers")
    token = link()
    confirm = requests.get(f"{warden.url}/api/approvals/link?token={quote(token)}", headers=headers_for(), timeout=30)
    form = {"token": _token(confirm.text), "csrf": _csrf(confirm.text), "justification": "from Teams"}
    first = requests.post(f"{warden.url}/api/approvals/link", data=form, headers=headers_for(), timeout=30)
    assert first.status_code == 200 and "You approved step" in first.text
    replay = requests.post(f"{warden.url}/api/approvals/link", data=form, headers=headers_for(), timeout=30)
    assert replay.status_code == 409 and "already used" in replay.text
    record = deps.service.get_record(f"inc-1:approval:{STEP}")
    assert [d.channel for d in record.decisions] == ["link"]


def test_tampered_expired_and_misdirected_links_are_refused(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    good = link()
    segment, signature = good.split(".")
    forged = sign_link(
        b"an-attacker-key-that-is-long-enough",
        incident_id="inc-1",
        step_id=STEP,
        decision="approve",
        approver="mallory@contoso.com",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    cases = {
        segment + "." + signature[:-2] + ("AA" if not signature.endswith("AA") else "BB"): (
            403,
            "signature is invalid",
        ),
        forged.split(".")[0] + "." + signature: (403, "signature is invalid"),
        "garbage": (400, "malformed"),
        link(expires=datetime.now(UTC) - timedelta(minutes=1)): (410, "expired"),
    }
    for token, (status, phrase) in cases.items():
        response = requests.get(
            f"{warden.url}/api/approvals/link?token={quote(token)}", headers=headers_for(), timeout=30
        )
        assert response.status_code == status, token
        assert phrase in response.text
    other = requests.get(
        f"{warden.url}/api/approvals/link?token={quote(link(approver='bob@contoso.com'))}",
        headers=headers_for(),
        timeout=30,
    )
    assert other.status_code == 403 and "issued to bob@contoso.com" in other.text
    # POSTing a link issued to someone else, with the poster's own valid CSRF token, fails too.
    csrf = _csrf(requests.get(warden.url + PAGE, headers=headers_for(), timeout=30).text)
    stolen = requests.post(
        f"{warden.url}/api/approvals/link",
        data={"token": link(approver="bob@contoso.com"), "csrf": csrf, "justification": "mine now"},
        headers=headers_for(),
        timeout=30,
    )
    assert stolen.status_code == 403
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()


def test_a_link_bound_to_the_approver_role_works_for_any_holder_of_the_role(
    warden: DevHostThread, deps: ApprovalsDeps
) -> None:
    seed(deps)
    token = link(decision="reject", approver="Warden.Approver")
    confirm = requests.get(
        f"{warden.url}/api/approvals/link?token={quote(token)}", headers=headers_for("bob@contoso.com"), timeout=30
    )
    assert confirm.status_code == 200 and "Confirm: Reject" in confirm.text
    form = {"token": token, "csrf": _csrf(confirm.text), "justification": "false positive"}
    done = requests.post(
        f"{warden.url}/api/approvals/link", data=form, headers=headers_for("bob@contoso.com"), timeout=30
    )
    assert done.status_code == 200 and "You rejected step" in done.text


def test_cross_site_form_posts_are_refused_by_fetch_metadata(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    csrf = _csrf(requests.get(warden.url + PAGE, headers=headers_for(), timeout=30).text)
    form = {"incident_id": "inc-1", "step_id": STEP, "decision": "approve", "justification": "ok", "csrf": csrf}
    response = requests.post(
        warden.url + PAGE + "/decide", data=form, headers={**headers_for(), "Sec-Fetch-Site": "cross-site"}, timeout=30
    )
    assert response.status_code == 403 and "cross-site" in response.text
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()
