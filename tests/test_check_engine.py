"""`stacktui check` and `stacktui status` on the real engine: host ports, other projects, the stale case."""
from __future__ import annotations

import json
import os
import socket
import subprocess

from conftest import DEMO_PORTS, Stack
from tests.waiting import until


def check_json(stack: Stack) -> tuple[int, list[dict]]:
    done = stack.stacktui("check", "--json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def test_a_listener_planted_on_a_published_port_is_caught_before_up(stack_factory):
    stack = stack_factory("demo", DEMO_PORTS)
    port = stack.ports["DEMO_MCP_HTTP_PORT"]
    with socket.socket() as planted:
        planted.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        planted.bind(("127.0.0.1", port))
        planted.listen()
        text = stack.stacktui("check")
        code, findings = check_json(stack)
    assert text.returncode == 1, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if f" {port}:" in ln)
    assert line.startswith("compose.yaml:")
    assert f"error port-in-use vscode {port}: " in line
    assert f"python (pid {os.getpid()}) already holds it" in line
    assert code == 1
    [finding] = findings
    assert (finding["kind"], finding["service"], finding["port"]) == ("port-in-use", "vscode", port)
    assert finding["file"] == "compose.yaml"
    lines = (stack.dir / "compose.yaml").read_text().splitlines()
    assert "DEMO_MCP_HTTP_PORT" in lines[finding["line"] - 1]
    # Nothing else on the stack's ports: once the listener is gone, the same check is clean.
    assert stack.stacktui("check").returncode == 0


def test_the_running_stack_is_clean_and_its_ports_are_taken_for_another_project(demo_stack, stack_factory):
    code, findings = check_json(demo_stack)
    assert (code, findings) == (0, [])  # its own docker-proxy processes are not conflicts
    assert "no findings" in demo_stack.stacktui("check").stdout

    other = stack_factory("demo", DEMO_PORTS)
    env = (other.dir / ".env").read_text()
    for var in DEMO_PORTS:
        env = env.replace(f"{var}={other.ports[var]}", f"{var}={demo_stack.ports[var]}")
    (other.dir / ".env").write_text(env)
    code, findings = check_json(other)
    assert code == 1
    assert {(f["kind"], f["service"], f["port"]) for f in findings} == {
        ("port-taken-by-container", "vscode", p) for p in demo_stack.ports.values()}
    assert all(f"{demo_stack.name}-vscode-1 (service vscode of project {demo_stack.name})" in f["message"]
               for f in findings)


def test_stale_namespace_probe_fails_while_the_healthcheck_passes(demo_stack, engine):
    before = demo_stack.container(engine, "vscode")
    # The seed failure: a raw `docker restart` of the owner alone.
    subprocess.run(["docker", "restart", "-t", "1", before.name], check=True, capture_output=True, timeout=60,
                   env={**os.environ})
    until(lambda: (c := demo_stack.container(engine, "vscode")).started_at != before.started_at
               and c.health == "healthy", what="vscode healthy again")
    mcp = demo_stack.container(engine, "mcp-server")
    assert mcp.health == "healthy"  # its own healthcheck runs in the dead namespace and still passes

    done = demo_stack.stacktui("status", "--json")
    assert done.returncode == 1, done.stderr
    rows = {r["service"]: r for r in json.loads(done.stdout)["services"]}
    row = rows["mcp-server"]
    assert row["docker_health"] == "healthy"
    assert row["health"] != "healthy"
    assert row["probe"]["ok"] is False
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    assert row["probe"]["reached_via"] == f"host port 127.0.0.1:{port}"
    assert any(r.startswith("probe http://vscode:9001/health failed") for r in row["reasons"])

    text = demo_stack.stacktui("status").stdout
    assert f"probe http://vscode:9001/health via host port 127.0.0.1:{port}: failed" in text

    code, findings = check_json(demo_stack)
    assert code == 1
    stale = [f for f in findings if f["kind"] == "stale-namespace"]
    assert [(f["service"], f["fix"]) for f in stale] == [("mcp-server", "restart:mcp-server")]
    assert stale[0]["file"] == "compose.yaml" and stale[0]["line"]
