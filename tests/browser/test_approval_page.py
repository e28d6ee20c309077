"""Headless Chromium (Debian's, driven by Playwright) against the real function_app.py on devhost.

An approver signs in (devhost passes App Service Authentication's ``X-MS-CLIENT-PRINCIPAL``
through, so each browser context sends it with ``extra_http_headers``), sees the pending
approval with its evidence, approves with a justification, and the gate orchestration
continues (status read through the durable HTTP API). A non-approver sees no buttons, and a
``<script>`` injected in the alert text never runs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright import sync_api

from devhost.server import DevHostThread
from shared.bootstrap import container, reset_container
from shared.contracts.approval import approval_instance_id
from tests.approvals_support import SUB, XSS, gate_request, headers_for, memory_deps

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP = "s1-switch-rai-policy"

if not Path(CHROMIUM).exists():  # pragma: no cover - scripts/ensure-chromium.sh installs it
    raise RuntimeError("Debian chromium is not installed: run scripts/ensure-chromium.sh (make test does)")


@pytest.fixture(scope="module")
def warden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
        reset_container()
        container().approvals_deps = memory_deps()
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host
        reset_container()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def _durable(host: DevHostThread, path: str) -> str:
    return f"{host.url}/runtime/webhooks/durabletask/{path}"


def start_gate(host: DevHostThread, incident: str) -> str:
    instance = approval_instance_id(incident, STEP)
    request = gate_request(incident, explanation=f"Jailbreak blocked: {XSS}", evidence={"description": XSS})
    response = requests.post(
        _durable(host, f"orchestrators/approval_gate/{instance}"),
        params={"code": host.system_key("durabletask_extension")},
        json=request,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return instance


def status(host: DevHostThread, instance: str) -> dict[str, Any]:
    response = requests.get(
        _durable(host, f"instances/{instance}"), params={"code": host.system_key("durabletask_extension")}, timeout=30
    )
    body: dict[str, Any] = response.json()
    return body


def wait_for(host: DevHostThread, instance: str, wanted: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = status(host, instance)
        if current.get("runtimeStatus") == wanted or time.monotonic() > deadline:
            return current
        time.sleep(0.1)


def signed_in(browser: Any, user: str, **kwargs: Any) -> Any:
    context = browser.new_context(
        extra_http_headers=headers_for(user, **kwargs), viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return context, page


def test_an_approver_approves_from_a_phone_and_the_orchestration_continues(warden: DevHostThread, browser: Any) -> None:
    instance = start_gate(warden, "inc-browser-1")
    assert wait_for(warden, instance, "Running")["runtimeStatus"] == "Running"
    context, page = signed_in(browser, "alice@contoso.com")
    try:
        page.goto(f"{warden.url}/api/approvals/page")
        card = page.locator(f'section.approval[data-step="{STEP}"]')
        assert card.count() == 1
        assert "Jailbreak blocked: <script>" in card.inner_text()  # shown as text, not run
        assert page.evaluate("() => window.__pwned === undefined")
        card.locator("textarea[name=justification]").fill("Confirmed jailbreak attempts; containing.")
        card.locator("button.approve").click()
        page.wait_for_selector("p.msg")
        assert "You approved step" in page.locator("p.msg").inner_text()
        assert page.evaluate("() => window.__pwned === undefined") and page.dialogs == []
    finally:
        context.close()
    done = wait_for(warden, instance, "Completed")
    assert done["runtimeStatus"] == "Completed"
    assert done["output"]["approved"] is True
    assert done["output"]["decided_by"][0]["channel"] == "page"
    assert done["output"]["decided_by"][0]["justification"] == "Confirmed jailbreak attempts; containing."


def test_a_non_approver_sees_no_buttons(warden: DevHostThread, browser: Any) -> None:
    start_gate(warden, "inc-browser-2")
    context, page = signed_in(browser, "eve@contoso.com", roles=("Reader",))
    try:
        response = page.goto(f"{warden.url}/api/approvals/page")
        assert response is not None and response.status == 403
        assert page.locator("button").count() == 0 and page.locator("form").count() == 0
        assert "does not hold the approver role" in page.inner_text("body")
    finally:
        context.close()


def test_injected_script_in_an_alert_never_runs_even_if_it_reached_the_dom(warden: DevHostThread, browser: Any) -> None:
    start_gate(warden, "inc-browser-3")
    context, page = signed_in(browser, "bob@contoso.com")
    try:
        page.goto(f"{warden.url}/api/approvals/page")
        assert page.locator("script").count() == 0 and page.locator("img").count() == 0
        # Defence in depth: even a script element forced into the page is blocked by the CSP.
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__pwned = 3';"
            " document.body.appendChild(s); }"
        )
        assert page.evaluate("() => window.__pwned === undefined")
        assert page.dialogs == []
    finally:
        context.close()
