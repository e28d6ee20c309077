"""The real ``DurableOrchestrationClient`` (azure-functions-durable 1.7) against devhost's HTTP API.

The client is built from ``engine.client_binding_json(base_url)`` exactly as the SDK's
``durable_client_input`` middleware builds it, and talks to an aiohttp server on 127.0.0.1:0.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import azure.functions as func
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus

from devhost.loader import LoadedApp
from tests.functional.devhost_durable.support import durable_host, run

REQUEST = {"resource": "aoai-prod"}


def test_binding_json_has_the_extension_shape(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db", system_key="sys-key") as host:
            binding = json.loads(host.binding)
            base = f"{host.base_url}/runtime/webhooks/durabletask"
            assert binding["taskHubName"] == "WardenHub"
            assert binding["baseUrl"] == base
            assert binding["rpcBaseUrl"] == f"{host.base_url}/durabletask/"
            assert binding["requiredQueryStringParameters"] == "code=sys-key"
            assert binding["managementUrls"]["statusQueryGetUri"] == (
                f"{base}/instances/INSTANCEID?taskHub=WardenHub&connection=Storage&code=sys-key"
            )
            assert binding["creationUrls"]["createNewInstancePostUri"] == (
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?code=sys-key"
            )
            assert set(binding["managementUrls"]) == {
                "id",
                "statusQueryGetUri",
                "sendEventPostUri",
                "terminatePostUri",
                "rewindPostUri",
                "purgeHistoryDeleteUri",
                "restartPostUri",
                "suspendPostUri",
                "resumePostUri",
            }

    run(scenario())


def test_client_runs_the_approval_flow_and_the_event_arrives_double_encoded(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    """Issue #295: the Python client JSON-encodes the event data once more, and the extension
    keeps the body as EventRaised.Input, so the orchestrator receives JSON *text*."""

    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            client = host.client
            iid = await client.start_new("approval_orchestrator", instance_id="http-approval", client_input=REQUEST)
            assert iid == "http-approval"
            await host.engine.wait_for_idle()
            await client.raise_event(iid, "ApprovalEvent", {"approved": True})
            await host.engine.wait_for_completion(iid)

            status = await client.get_status(iid, show_input=True)
            assert status.runtime_status == OrchestrationRuntimeStatus.Completed
            assert status.output == {"decision": '{"approved": true}', "type": "str"}
            assert status.custom_status == {"stage": "decided"}
            assert status.input_ == json.dumps(REQUEST)  # stored double-encoded, read back as text
            assert status.created_time is not None

    run(scenario())


def test_client_start_input_round_trips_to_the_orchestrator(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            payload = {"doc": 1, "tags": ["a", "b"], "nested": {"ok": True}}
            iid = await host.client.start_new("input_echo_orchestrator", client_input=payload)
            status = await host.engine.wait_for_completion(iid)
            assert status.output == {"input": payload, "instance": iid}

            no_input = await host.client.start_new("input_echo_orchestrator")
            status = await host.engine.wait_for_completion(no_input)
            assert status.output == {"input": None, "instance": no_input}

    run(scenario())


def test_client_get_status_shows_history_when_asked(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            iid = await host.client.start_new("fan_out_orchestrator", client_input=2)
            await host.engine.wait_for_completion(iid)

            plain = await host.client.get_status(iid)
            assert plain.history is None
            detailed = await host.client.get_status(iid, show_history=True, show_history_output=True)
            types = [e["EventType"] for e in detailed.historyEvents]
            assert types == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
            assert sorted(e["Result"] for e in detailed.historyEvents if e["EventType"] == "TaskCompleted") == [0, 1]
            assert all(e.get("FunctionName") == "square" for e in detailed.historyEvents[1:3])

    run(scenario())


def test_client_queries_instances_by_status_prefix_and_time(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            client = host.client
            done = await client.start_new("fan_out_orchestrator", instance_id="q-done", client_input=1)
            await host.engine.wait_for_completion(done)
            await client.start_new("waiting_orchestrator", instance_id="q-wait")
            await client.start_new("waiting_orchestrator", instance_id="other-wait")
            await host.engine.wait_for_idle()

            running = await client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Running])
            assert sorted(s.instance_id for s in running) == ["other-wait", "q-wait"]
            prefixed = await client.get_status_by(instance_id_prefix="q-")
            assert sorted(s.instance_id for s in prefixed) == ["q-done", "q-wait"]
            future = await client.get_status_by(created_time_from=datetime.now(UTC) + timedelta(hours=1))
            assert future == []
            everything = await client.get_status_all()
            assert len(everything) == 3

    run(scenario())


def test_client_terminate_and_raise_event_on_gone_or_missing_instances(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            client = host.client
            iid = await client.start_new("waiting_orchestrator")
            await host.engine.wait_for_idle()
            await client.terminate(iid, "stop it")
            status = await host.engine.wait_for_completion(iid)
            assert status.runtime_status == "Terminated"
            assert status.output == "stop it"

            await client.terminate(iid, "again")  # 410 Gone is not an error for the client
            with pytest.raises(Exception, match="is gone"):
                await client.raise_event(iid, "Go", 1)
            with pytest.raises(Exception, match="No instance with ID"):
                await client.raise_event("missing", "Go", 1)
            with pytest.raises(Exception, match="No instance with ID 'missing' found"):
                await client.terminate("missing", "x")
            missing = await client.get_status("missing")
            assert not missing

    run(scenario())


def test_client_start_of_a_running_id_fails_like_the_extension(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            await host.client.start_new("waiting_orchestrator", instance_id="once")
            with pytest.raises(Exception, match=r"An Orchestration instance with the status (Pending|Running)"):
                await host.client.start_new("waiting_orchestrator", instance_id="once")
            with pytest.raises(Exception, match="'missing_orchestrator' doesn't exist"):
                await host.client.start_new("missing_orchestrator")

    run(scenario())


def test_client_purges_one_instance_and_by_filter(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            client = host.client
            for n in range(3):
                await client.start_new("fan_out_orchestrator", instance_id=f"purge-{n}", client_input=n)
            for n in range(3):
                await host.engine.wait_for_completion(f"purge-{n}")
            running = await client.start_new("waiting_orchestrator", instance_id="purge-running")

            assert (await client.purge_instance_history("purge-0")).instances_deleted == 1
            assert (await client.purge_instance_history("purge-0")).instances_deleted == 0
            assert (await client.purge_instance_history(running)).instances_deleted == 0
            result = await client.purge_instance_history_by(
                created_time_from=datetime.now(UTC) - timedelta(hours=1),
                runtime_status=[OrchestrationRuntimeStatus.Completed],
            )
            assert result.instances_deleted == 2
            assert not await client.get_status("purge-1")
            assert await client.get_status(running)

    run(scenario())


def test_check_status_response_points_at_the_request_origin(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host:
            iid = await host.client.start_new("fan_out_orchestrator", client_input=1)
            request = func.HttpRequest("POST", "http://localhost:7071/api/approvals", body=b"")
            response = host.client.create_check_status_response(request, iid)
            body = json.loads(response.get_body())
            assert response.status_code == 202
            assert body["id"] == iid
            assert body["statusQueryGetUri"].startswith(
                f"http://localhost:7071/runtime/webhooks/durabletask/instances/{iid}?"
            )
            assert response.headers["Location"] == body["statusQueryGetUri"]

    run(scenario())


def test_webhook_routes_require_the_system_key_and_answer_json(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            durable_host(durable_app, tmp_path / "s.db", system_key="k3y") as host,
            aiohttp.ClientSession() as http,
        ):
            hook = f"{host.base_url}/runtime/webhooks/durabletask"
            async with http.post(f"{hook}/orchestrators/fan_out_orchestrator", json="3") as resp:
                assert resp.status == 401
                assert "system key" in (await resp.json())["Message"]
            async with http.post(f"{hook}/orchestrators/fan_out_orchestrator?code=k3y", json="3") as resp:
                assert resp.status == 202
                started = await resp.json()
                assert resp.headers["Location"] == started["statusQueryGetUri"]
            await host.engine.wait_for_completion(started["id"])
            async with http.get(started["statusQueryGetUri"]) as resp:
                assert resp.status == 200
                assert (await resp.json())["output"] == {"count": 3, "sum": 5}
            headers = {"x-functions-key": "k3y"}
            async with http.get(f"{hook}/instances/nope", headers=headers) as resp:
                assert resp.status == 404
                assert await resp.json() is None
            # The RPC prefix (rpcBaseUrl) is loopback-only and needs no key.
            async with http.get(f"{host.base_url}/durabletask/instances/{started['id']}") as resp:
                assert resp.status == 200
            async with http.post(f"{host.base_url}/durabletask/instances/{started['id']}/suspend") as resp:
                assert resp.status == 501
                assert "does not implement" in (await resp.json())["Message"]

    run(scenario())


def test_running_instance_status_is_202_with_location(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "s.db") as host, aiohttp.ClientSession() as http:
            iid = await host.client.start_new("waiting_orchestrator")
            await host.engine.wait_for_idle()
            async with http.get(f"{host.base_url}/durabletask/instances/{iid}") as resp:
                assert resp.status == 202
                assert resp.headers["Location"].endswith(f"/instances/{iid}?taskHub=WardenHub&connection=Storage")
                body = await resp.json()
                assert body["runtimeStatus"] == "Running"
                assert body["customStatus"] == {"stage": "waiting", "first": 9}

    run(scenario())
