"""Feeding Event Hub triggers: cardinality one and many, metadata, failures and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from devhost.server import DevHostThread

from .conftest import Recorder

ROOT = Path(__file__).resolve().parents[3]


def _send(host: DevHostThread, function: str, payload: Any, key: str | None = None) -> requests.Response:
    return requests.post(
        f"{host.url}/admin/devhost/eventhub/{function}",
        json=payload,
        headers={"x-functions-key": host.master_key if key is None else key},
        timeout=10,
    )


def test_cardinality_one_invokes_once_per_message(host: DevHostThread, record: Recorder) -> None:
    response = _send(host, "eh_one", ["first", {"tokens": 12}, "third"])
    assert response.status_code == 200
    report = response.json()
    assert report["cardinality"] == "one"
    assert [len(i["sequenceNumbers"]) for i in report["invocations"]] == [1, 1, 1]
    calls = record.calls("eh_one")
    assert [c["body"] for c in calls] == ["first", '{"tokens": 12}', "third"]
    sequence = [c["sequence_number"] for c in calls]
    assert sequence == sorted(sequence)
    assert len(set(sequence)) == 3


def test_cardinality_one_event_carries_properties_partition_key_and_times(
    host: DevHostThread, record: Recorder
) -> None:
    payload = {"events": [{"body": "m", "properties": {"tenant": "t1"}, "partitionKey": "acct-1"}]}
    assert _send(host, "eh_one", payload).status_code == 200
    (call,) = record.calls("eh_one")
    assert call["properties"] == {"tenant": "t1"}
    assert call["partition_key"] == "acct-1"
    assert call["enqueued_time"] is not None
    assert call["offset"] is not None


def test_cardinality_many_batches_up_to_max_event_batch_size(host: DevHostThread, record: Recorder) -> None:
    response = _send(host, "eh_many", {"events": [{"body": f"m{i}", "properties": {"i": i}} for i in range(5)]})
    assert response.status_code == 200
    calls = record.calls("eh_many")
    # host.json of the sample app sets maxEventBatchSize to 3
    assert [c["bodies"] for c in calls] == [["m0", "m1", "m2"], ["m3", "m4"]]
    assert calls[0]["properties"] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert len(response.json()["invocations"]) == 2


def test_failing_message_is_reported_and_the_rest_still_run(host: DevHostThread, record: Recorder) -> None:
    response = _send(host, "eh_one", ["a", "poison", "b"])
    assert response.status_code == 200
    report = response.json()
    statuses = [i["status"] for i in report["invocations"]]
    assert statuses == ["Succeeded", "Failed", "Succeeded"]
    assert "poison message" in report["invocations"][1]["error"]
    assert report["failedSequenceNumbers"] == report["invocations"][1]["sequenceNumbers"]
    assert [c["body"] for c in record.calls("eh_one")] == ["a", "poison", "b"]


def test_failing_batch_is_reported_with_all_its_sequence_numbers(host: DevHostThread) -> None:
    report = _send(host, "eh_many", ["ok", "poison"]).json()
    (invocation,) = report["invocations"]
    assert invocation["status"] == "Failed"
    assert report["failedSequenceNumbers"] == invocation["sequenceNumbers"]
    assert len(invocation["sequenceNumbers"]) == 2


def test_feed_requires_the_master_key(host: DevHostThread) -> None:
    assert _send(host, "eh_one", ["x"], key=host.function_key).status_code == 401


def test_unknown_event_hub_function_is_404(host: DevHostThread) -> None:
    assert _send(host, "anon", ["x"]).status_code == 404


def test_malformed_message_list_is_400_naming_the_field(host: DevHostThread) -> None:
    response = _send(host, "eh_one", {"events": [{"body": "x", "props": {}}]})
    assert response.status_code == 400
    assert "props" in response.json()["error"]


def test_cli_sends_a_file_and_exits_nonzero_when_a_message_failed(
    host: DevHostThread, record: Recorder, tmp_path: Path
) -> None:
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps(["one", "poison"]), encoding="utf-8")
    command = [sys.executable, "-m", "devhost", "eventhub", "send", "eh_one", str(messages)]
    command += ["--endpoint", host.url, f"--master-key={host.master_key}"]  # a key may start with "-"
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [i["status"] for i in report["invocations"]] == ["Succeeded", "Failed"]
    assert [c["body"] for c in record.calls("eh_one")] == ["one", "poison"]
