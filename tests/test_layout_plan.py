"""What apply works out before touching anything: the new configuration, what to recreate, port conflicts.

Fast: Compose's `config` reads the texts; containers are built from inspect-shaped data.
"""
from __future__ import annotations

import shutil
import os
import socket
from pathlib import Path

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.errors import ConfigError
from stacktui.core.layout.prepare import prepare_separate
from stacktui.core.layout.apply import project_for_text, services_to_recreate, stops_in_order, up_phases
from stacktui.core.ports.host import host_port_conflicts, port_answers
from stacktui.core.layout.verify import moved_ports, rewritten_urls
from stacktui.core.loader import load_project

ROOT = Path(__file__).resolve().parent.parent
EXTRA_JOINER = """
  sidecar:
    image: busybox
    network_mode: "service:vscode"
"""


@pytest.fixture
def agentdb9(tmp_path: Path) -> Path:
    dest = tmp_path / "agentdb9"
    shutil.copytree(ROOT / "compose" / "agentdb9", dest)
    return dest / "docker-compose.yml"


def container(service: str, ports: list[tuple[str, int, int]] = (), state: str = "running") -> ContainerInfo:
    bindings = {f"{target}/tcp": [{"HostIp": ip, "HostPort": str(host)}] for ip, host, target in ports}
    return ContainerInfo.from_inspect({
        "Id": f"{service}-id", "Name": f"/p-{service}-1",
        "Config": {"Labels": {"com.docker.compose.project": "p", "com.docker.compose.service": service}},
        "State": {"Status": state}, "HostConfig": {}, "NetworkSettings": {"Ports": bindings},
    })


def test_the_new_configuration_comes_from_compose_before_anything_is_written(agentdb9):
    target = resolve_target([agentdb9])
    old = load_project(target)
    change = prepare_separate(old, "mcp-server")
    new = project_for_text(target, agentdb9, change.new_text)
    assert agentdb9.read_text() == change.old_text
    assert new.services["mcp-server"].network_mode is None
    assert [p.target for p in new.services["mcp-server"].ports] == [9001, 9002]
    assert new.services["mcp-server"].x.health == "http://mcp-server:9001/health"
    assert new.services["backend"].environment == {"MCP_SERVER_URL": "http://mcp-server:9001"}


def test_compose_refusing_the_new_text_stops_everything(agentdb9):
    target = resolve_target([agentdb9])
    broken = agentdb9.read_text().replace('ipc: "service:vscode"', 'ipc: "service:nowhere"')
    with pytest.raises(ConfigError, match="Compose refuses the changed docker-compose.yml"):
        project_for_text(target, agentdb9, broken)


def test_owners_come_first_and_whoever_joins_a_recreated_owner_is_recreated(agentdb9):
    agentdb9.write_text(agentdb9.read_text() + EXTRA_JOINER)
    target = resolve_target([agentdb9])
    old = load_project(target)
    new = project_for_text(target, agentdb9, prepare_separate(old, "mcp-server").new_text)
    # sidecar's own definition did not change, but it cannot stay in vscode's old container.
    assert services_to_recreate(old, new) == ["vscode", "mcp-server", "backend", "sidecar"]
    assert services_to_recreate(new, old) == ["vscode", "mcp-server", "backend", "sidecar"]
    # Here backend publishes ports of its own: every service is a port holder, one Compose call.
    assert up_phases(old, new, services_to_recreate(old, new)) == [["vscode", "mcp-server", "backend", "sidecar"]]


def test_a_service_changed_only_along_comes_up_after_the_port_holders(tmp_path: Path):
    """compose/demo's backend publishes nothing and only has its URL rewritten: a second Compose call,
    so the moved ports are dark only while vscode and mcp-server are replaced."""
    shutil.copytree(ROOT / "compose" / "demo", tmp_path / "demo")
    target = resolve_target([tmp_path / "demo" / "compose.yaml"])
    old = load_project(target)
    new = project_for_text(target, tmp_path / "demo" / "compose.yaml", prepare_separate(old, "mcp-server").new_text)
    for a, b in ((old, new), (new, old)):
        assert services_to_recreate(a, b) == ["vscode", "mcp-server", "backend"]
        assert up_phases(a, b, services_to_recreate(a, b)) == [["vscode", "mcp-server"], ["backend"]]
    # Back to shared, Compose would stop mcp-server, then vscode: stacktui stops them together.
    # Separate, Compose stops both at once itself.
    assert stops_in_order(old, ["vscode", "mcp-server"]) and not stops_in_order(new, ["vscode", "mcp-server"])


def test_what_is_verified_after_up(agentdb9):
    target = resolve_target([agentdb9])
    old = load_project(target)
    new = project_for_text(target, agentdb9, prepare_separate(old, "mcp-server").new_text)
    services = services_to_recreate(old, new)
    assert moved_ports(old, new, services) == [("", 9001, "tcp", "mcp-server"), ("", 9002, "tcp", "mcp-server")]
    assert rewritten_urls(old, new, services) == [("mcp-server", "http://vscode:8080"),
                                                   ("backend", "http://mcp-server:9001")]


def test_host_ports_held_by_what_apply_recreates_are_fine_others_are_not(agentdb9, tmp_path):
    target = resolve_target([agentdb9])
    old = load_project(target)
    new = project_for_text(target, agentdb9, prepare_separate(old, "mcp-server").new_text)
    services = ["vscode", "mcp-server", "backend"]
    running = [container("vscode", [("0.0.0.0", 8080, 8080), ("0.0.0.0", 9001, 9001), ("0.0.0.0", 9002, 9002)]),
               container("mcp-server"), container("backend", [("0.0.0.0", 8000, 8000)])]
    # Remote engine: the bind test is not possible, only what the engine says counts.
    assert host_port_conflicts(new, services, running, local=False) == []
    other = [*running, container("other", [("127.0.0.1", 9002, 80)])]
    assert host_port_conflicts(new, services, other, local=False) == [
        "0.0.0.0:9002/tcp for mcp-server is published by other (p-other-1), which this change does not restart"]


def test_two_services_asking_for_one_host_port(tmp_path):
    file = tmp_path / "compose.yaml"
    file.write_text("services:\n  a:\n    image: busybox\n    ports: ['18000:80']\n"
                    "  b:\n    image: busybox\n    ports: ['18000:81']\n")
    project = load_project(resolve_target([file]))
    assert host_port_conflicts(project, ["a", "b"], [], local=False) == [
        "0.0.0.0:18000/tcp is published by both a and b"]


def test_a_local_port_in_use_is_named_with_its_holder(tmp_path):
    file = tmp_path / "compose.yaml"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        file.write_text(f"services:\n  web:\n    image: busybox\n    ports:\n      - '127.0.0.1:{port}:80'\n")
        project = load_project(resolve_target([file]))
        problems = host_port_conflicts(project, ["web"], [], local=True)
        assert len(problems) == 1
        assert problems[0].startswith(f"127.0.0.1:{port}/tcp for web is in use by pid {os.getpid()} ")
        ok, detail = port_answers("127.0.0.1", port, timeout=0.5)
        assert ok and detail == "accepted, no reply within the timeout"
    assert host_port_conflicts(project, ["web"], [], local=True) == []
    assert port_answers("127.0.0.1", port, timeout=0.5)[0] is False
