"""The demo stack runs on the real engine in the reference document's shared layout."""
from __future__ import annotations

import json
import time

import httpx

from tests.waiting import until


def test_mcp_health_answers_through_the_port_vscode_publishes(demo_stack, engine):
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    reply = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    assert reply.status_code == 200
    assert json.loads(reply.text) == {"status": "ok"}

    vscode = demo_stack.container(engine, "vscode")
    mcp = demo_stack.container(engine, "mcp-server")
    # The port is vscode's: mcp-server publishes nothing and lives in vscode's namespaces.
    assert {p.host_port for p in vscode.ports} == set(demo_stack.ports.values())
    assert mcp.ports == []
    assert mcp.network_mode == f"container:{vscode.id}"
    assert mcp.ipc_mode == f"container:{vscode.id}"


def test_backend_reaches_mcp_server_as_vscode(demo_stack):
    until(lambda: "MCP reachable at http://vscode:9001/health" in demo_stack.compose("logs", "--no-color",
                                                                                      "backend").stdout,
          15, "backend's log saying it reached mcp-server as vscode", step=0.5)


def test_every_demo_container_stops_within_seconds(demo_stack):
    started = time.monotonic()
    demo_stack.compose("stop", "-t", "10")
    # busybox httpd as PID 1 would ignore SIGTERM and take the full 10 s timeout.
    assert time.monotonic() - started < 5
