"""Layout changes applied to running stacks: real engine, real Compose, the real CLI.

Each test starts its own copy of a stack (own project name, own host ports) and
checks what a user would: the file, which container sits in whose namespace,
the published ports answering from the host, the caller's log naming the new address.
"""
from __future__ import annotations

import json
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from tests.conftest import free_port
from tests.waiting import until

GOLDEN = Path(__file__).resolve().parent / "golden"


def snapshot(engine, stack) -> dict[str, tuple[str, str]]:
    return {c.service: (c.id, c.state) for c in engine.project_containers(stack.name)}


def health(port: int) -> dict:
    reply = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    assert reply.status_code == 200
    return json.loads(reply.text)


def wait_for_log(stack, service: str, text: str, timeout: float = 20.0) -> None:
    seen = [""]

    def logged() -> bool:
        seen[0] = stack.compose("logs", "--no-color", service).stdout
        return text in seen[0]

    try:
        until(logged, timeout, f"{service} to log {text!r}", step=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last lines:\n{seen[0][-1500:]}") from None


@contextmanager
def listener(port: int) -> Iterator[socket.socket]:
    """Another program holding a host port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As servers do: a port whose last connections linger in TIME_WAIT can be bound again.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        yield s


def set_env(stack, **values: int) -> str:
    env = stack.dir / ".env"
    before = env.read_text()
    lines = [ln for ln in before.splitlines() if ln.split("=", 1)[0] not in values]
    env.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")
    return before


def test_demo_separate_and_shared_again(demo_stack, engine):
    http, ws, editor = (demo_stack.ports[k] for k in ("DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT", "DEMO_VSCODE_PORT"))
    original = demo_stack.file.read_bytes()

    done = demo_stack.stacktui("layout", "separate", "mcp-server", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert demo_stack.file.read_text() == (GOLDEN / "demo-separate-mcp-server.yaml").read_text()
    vscode, mcp = demo_stack.container(engine, "vscode"), demo_stack.container(engine, "mcp-server")
    assert not mcp.network_mode.startswith("container:") and not mcp.ipc_mode.startswith("container:")
    assert {p.host_port for p in mcp.ports} == {http, ws}
    assert {p.host_port for p in vscode.ports} == {editor}
    assert health(http) == {"status": "ok"}, "same host port, now published by mcp-server itself"
    assert httpx.get(f"http://127.0.0.1:{ws}/", timeout=5).status_code == 200
    wait_for_log(demo_stack, "backend", "MCP reachable at http://mcp-server:9001/health")
    assert "verify: backend reaches http://mcp-server:9001/health: answered" in done.stdout

    done = demo_stack.stacktui("layout", "shared", "mcp-server", "--with", "vscode", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    # Equivalent to the original, less the comments separating made false (undo is byte for byte).
    assert demo_stack.file.read_text() == original.decode().replace(" (shared namespace)", "").replace(
        "    # Ports exposed through vscode service\n", "")
    vscode, mcp = demo_stack.container(engine, "vscode"), demo_stack.container(engine, "mcp-server")
    assert mcp.network_mode == f"container:{vscode.id}" and mcp.ipc_mode == f"container:{vscode.id}"
    assert {p.host_port for p in vscode.ports} == {editor, http, ws} and mcp.ports == []
    assert health(http) == {"status": "ok"}
    wait_for_log(demo_stack, "backend", "MCP reachable at http://vscode:9001/health")


def test_demo_host_port_conflicts_stop_apply_before_anything_changes(demo_stack, engine):
    http = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    # Shared -> separate: the WebSocket port was moved in .env to a port another program holds.
    taken = free_port()
    with listener(taken):
        env_before = set_env(demo_stack, DEMO_MCP_WS_PORT=taken)
        before, containers = demo_stack.file.read_bytes(), snapshot(engine, demo_stack)
        done = demo_stack.stacktui("layout", "separate", "mcp-server", "--yes")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"127.0.0.1:{taken}/tcp for mcp-server is in use by pid" in done.stderr
        assert "nothing was changed" in done.stderr
        assert demo_stack.file.read_bytes() == before
        assert snapshot(engine, demo_stack) == containers
        assert not (demo_stack.dir / ".stacktui").exists(), "nothing recorded: nothing was written"
    (demo_stack.dir / ".env").write_text(env_before)

    # Separate -> shared: mcp-server was stopped and another program took its port meanwhile.
    assert demo_stack.stacktui("layout", "separate", "mcp-server", "--yes").returncode == 0
    demo_stack.compose("stop", "-t", "1", "mcp-server")
    with listener(http):
        before, containers = demo_stack.file.read_bytes(), snapshot(engine, demo_stack)
        done = demo_stack.stacktui("layout", "shared", "mcp-server", "--with", "vscode", "--yes")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"127.0.0.1:{http}/tcp for vscode is in use by pid" in done.stderr
        assert demo_stack.file.read_bytes() == before
        assert snapshot(engine, demo_stack) == containers


def test_demo_failed_check_puts_file_and_layout_back(demo_stack, engine):
    http = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    original = demo_stack.file.read_bytes()
    # The user names only one of mcp-server's ports: 9001 stays on vscode, where nothing listens on it any more.
    done = demo_stack.stacktui("layout", "separate", "mcp-server", "--ports", "9002", "--yes", "--timeout", "6")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "layout change failed at verify: mcp-server answers http://vscode:9001/health" in done.stderr
    assert "rolled back" in done.stderr and "previous layout runs again" in done.stderr
    assert demo_stack.file.read_bytes() == original
    vscode, mcp = demo_stack.container(engine, "vscode"), demo_stack.container(engine, "mcp-server")
    assert mcp.state == "running" and mcp.network_mode == f"container:{vscode.id}"
    assert health(http) == {"status": "ok"}
    history = demo_stack.stacktui("layout", "history").stdout
    assert "(rolled back: the apply failed)" in history and "rollback  compose.yaml  rollback of #1" in history


def test_chain_separating_api_takes_worker_along_and_back(chain_stack, engine):
    api_port, worker_port, gw_port = (chain_stack.ports[k] for k in
                                      ("CHAIN_API_PORT", "CHAIN_WORKER_PORT", "CHAIN_GATEWAY_PORT"))
    original = chain_stack.file.read_bytes()
    taken = free_port()
    with listener(taken):
        env_before = set_env(chain_stack, CHAIN_WORKER_PORT=taken)
        containers = snapshot(engine, chain_stack)
        done = chain_stack.stacktui("layout", "separate", "api", "--yes")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"127.0.0.1:{taken}/tcp for api is in use by pid" in done.stderr
        assert chain_stack.file.read_bytes() == original
        assert snapshot(engine, chain_stack) == containers
    (chain_stack.dir / ".env").write_text(env_before)

    done = chain_stack.stacktui("layout", "separate", "api", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert chain_stack.file.read_text() == (GOLDEN / "chain-separate-api.yaml").read_text()
    gateway, api, worker = (chain_stack.container(engine, s) for s in ("gateway", "api", "worker"))
    assert not api.network_mode.startswith("container:")
    assert worker.network_mode == f"container:{api.id}", "worker moved with api"
    assert {p.host_port for p in api.ports} == {api_port, worker_port}
    assert {p.host_port for p in gateway.ports} == {gw_port}
    assert health(worker_port)["service"] == "worker" and health(api_port)["service"] == "api"
    wait_for_log(chain_stack, "client", "worker reachable at http://api:7003/health")

    done = chain_stack.stacktui("layout", "shared", "api", "--with", "gateway", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert chain_stack.file.read_bytes() == original
    gateway, api, worker = (chain_stack.container(engine, s) for s in ("gateway", "api", "worker"))
    assert api.network_mode == f"container:{gateway.id}" and worker.network_mode == f"container:{api.id}"
    assert health(worker_port)["service"] == "worker"
    wait_for_log(chain_stack, "client", "worker reachable at http://gateway:7003/health")
