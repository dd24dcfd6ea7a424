"""A request's log lines lead to its trace: they carry its trace id, span id and request id."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from observability_support import OtlpReceiver, gateway_traceparent, register

from newsroom_devstack.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_log_lines_of_a_request_carry_the_ids_of_its_trace(
    traced_stack: Stack, otlp_receiver: OtlpReceiver
) -> None:
    account = register(traced_stack)
    request_id = f"obs-log-{uuid.uuid4().hex}"
    response = requests.get(
        f"{traced_stack.gateway_url}/api/profiles/{account.username}",
        headers={"X-Request-ID": request_id},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    trace_id = gateway_traceparent(traced_stack, request_id).split("-")[1]
    spans = otlp_receiver.wait_for(
        lambda spans: any(s.trace_id == trace_id and s.kind == "SERVER" for s in spans)
    )
    (handler,) = [s for s in spans if s.trace_id == trace_id and s.kind == "SERVER"]

    lines = _json_lines_with(traced_stack.process("users-api").log_path, request_id)
    assert lines, "the request logged nothing"
    for entry in lines:
        assert entry["trace_id"] == trace_id
        assert entry["span_id"] == handler.span_id
    access = [e for e in lines if e["logger"] == "newsroom.access"]
    assert len(access) == 1
    assert (access[0]["route"], access[0]["status"]) == ("/api/profiles/<username>", 200)


def _json_lines_with(path: Path, request_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The JSON log lines of a process log that name `request_id` (they reach it quickly)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for line in path.read_text(errors="replace").splitlines():
            if request_id in line and "{" in line:
                entry = json.loads(line[line.index("{") :])
                if entry.get("request_id") == request_id:
                    found.append(entry)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
