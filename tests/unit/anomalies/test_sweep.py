"""The estate sweep on fakes: call budget, problems instead of crashes, the posture ingest gate."""

from __future__ import annotations

from shared.finding import FindingSource
from shared.policy import Policy
from shared.ports.cognitive import CognitiveError, DeploymentInfo
from shared.ports.inventory import AiAccount
from shared.ports.posture import DefenderPlan, DiagnosticSetting
from shared.resource_ids import AccountId
from shared.usecases.estate_sweep import run_sweep, select_for_ingest
from tests.fakes import FakeCognitive, FakeInventory, FakeLogs, FakePosture
from tests.unit.anomalies.conftest import NOW, SUB


def estate(count: int) -> tuple[list[AiAccount], FakeCognitive]:
    cognitive = FakeCognitive()
    accounts = []
    for i in range(count):
        aid = AccountId.parse(
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct-{i:03d}"
        )
        cognitive.add_account(aid)
        accounts.append(AiAccount(id=aid, kind="OpenAI", disable_local_auth=True, public_network_access="Disabled"))
    return accounts, cognitive


def test_diagnostic_settings_are_read_only_for_accounts_silent_in_the_workspace(policy: Policy) -> None:
    accounts, cognitive = estate(10)
    reporting = [{"ResourceId": str(a.id).lower()} for a in accounts[:7]]
    posture = FakePosture(plans={SUB: DefenderPlan(SUB, "AI", "Standard")})
    report = run_sweep(
        inventory=FakeInventory(accounts),
        cognitive=cognitive,
        posture=posture,
        logs=FakeLogs({"posture_reporting_accounts": reporting}),
        policy=policy,
        subscriptions=[SUB],
        now=NOW,
    )
    assert report.calls["diagnosticSettings.list"] == 3
    assert len([c for c in posture.calls if c.startswith("diagnosticSettings:")]) == 3
    assert report.calls["pricings.get"] == 1 and report.calls["deployments.list"] == 10
    assert report.kinds() == {"posture:no_diagnostic_settings": 3}


def test_without_a_workspace_every_account_is_asked(policy: Policy) -> None:
    accounts, cognitive = estate(4)
    good = [DiagnosticSetting(name="s", workspace_id="/ws", metrics_enabled=True)]
    posture = FakePosture(settings={str(a.id).lower(): good for a in accounts})
    report = run_sweep(
        inventory=FakeInventory(accounts),
        cognitive=cognitive,
        posture=posture,
        logs=None,
        policy=policy,
        subscriptions=[SUB],
        now=NOW,
    )
    assert report.calls["diagnosticSettings.list"] == 4 and report.findings == []


def test_an_empty_allowlist_skips_the_deployment_reads(policy: Policy) -> None:
    accounts, cognitive = estate(3)
    open_policy = policy.model_copy(update={"models": policy.models.model_copy(update={"allowlist": ()})})
    report = run_sweep(
        inventory=FakeInventory(accounts),
        cognitive=cognitive,
        posture=FakePosture(),
        logs=None,
        policy=open_policy,
        subscriptions=[SUB],
        now=NOW,
    )
    assert "deployments.list" not in report.calls and cognitive.calls["list_deployments"] == 0


def test_a_failing_account_is_a_problem_not_the_end_of_the_sweep(policy: Policy) -> None:
    accounts, cognitive = estate(2)
    cognitive.create_or_update_deployment(
        DeploymentInfo(
            id=accounts[1].id.deployment("x"), model_name="llama-3-70b", model_version="1", model_format="Meta"
        )
    )

    class Flaky(FakeCognitive):
        def list_deployments(self, account: AccountId) -> list[DeploymentInfo]:
            if account == accounts[0].id:
                raise CognitiveError("list deployments: HTTP 503")
            return cognitive.list_deployments(account)

    report = run_sweep(
        inventory=FakeInventory(accounts),
        cognitive=Flaky(),
        posture=FakePosture(),
        logs=None,
        policy=policy,
        subscriptions=[SUB],
        now=NOW,
    )
    assert any("HTTP 503" in p for p in report.problems)
    assert "model:unapproved_deployment" in report.kinds()


def test_posture_gate_modes(policy: Policy) -> None:
    accounts, cognitive = estate(1)
    open_account = AiAccount(id=accounts[0].id, kind="OpenAI")
    report = run_sweep(
        inventory=FakeInventory([open_account]),
        cognitive=cognitive,
        posture=FakePosture(),
        logs=None,
        policy=policy,
        subscriptions=[SUB],
        now=NOW,
    )
    posture = [f for f in report.findings if f.source is FindingSource.POSTURE]
    assert posture
    assert select_for_ingest(policy, report.findings, report.tags, "none")[1] == posture
    no_rule = policy.model_copy(update={"rules": tuple(r for r in policy.rules if r.name != "posture")})
    chosen, held = select_for_ingest(no_rule, report.findings, report.tags, "matched")
    assert chosen == [] and held == posture
