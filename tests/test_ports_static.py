"""Static port findings from the compose files, each with file and line (real Compose `config`, no engine)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_path

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.findings import DUPLICATE_LISTEN, DUPLICATE_PUBLISH, ERROR, PORTS_ON_SHARED_NETWORK, WARNING
from stacktui.core.ports.static import addresses_overlap, port_range, port_refs, static_findings
from stacktui.core.loader import load_project

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def project_in(folder: Path):
    return load_project(resolve_target([], cwd=folder, environ={}))


def line_of(file: Path, text: str, start: int = 1) -> int:
    """1-based line of the first line at or after `start` containing text: tests do not hard-code lines."""
    for n, line in enumerate(file.read_text().splitlines(), 1):
        if n >= start and text in line:
            return n
    raise AssertionError(f"{text!r} not in {file}")


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.update(PYTHONPATH=cli_path(), NO_COLOR="1", DOCKER_HOST="unix:///nonexistent/docker.sock")
    return subprocess.run([*STACKTUI, *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, env=env)


def test_reference_rollback_followed_literally_publishes_9001_and_9002_twice():
    folder = DATA / "rollback"
    file = folder / "docker-compose.yml"
    findings = static_findings(project_in(folder))
    assert [(f.kind, f.severity, f.service, f.port) for f in findings] == [
        (DUPLICATE_PUBLISH, ERROR, "vscode", 9001),
        (DUPLICATE_PUBLISH, ERROR, "vscode", 9002),
    ]
    vscode = line_of(file, "vscode:")
    mcp = line_of(file, "mcp-server:")
    for f, port in zip(findings, (9001, 9002)):
        # The finding points at the line to remove: vscode still publishes mcp-server's port.
        assert f.file == file
        assert f.line == line_of(file, f'"{port}:{port}"', vscode)
        assert f"line {line_of(file, f'{port}:{port}', mcp)}" in f.message
        assert "mcp-server" in f.message and "port is already allocated" in f.message
        assert "remove it from vscode's ports" in f.hint


def test_rollback_through_the_cli_exits_1_with_file_and_line_in_json():
    folder = DATA / "rollback"
    done = cli(folder, "check", "--static", "--json")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    file = folder / "docker-compose.yml"
    l9001, l9002 = line_of(file, '"9001:9001"'), line_of(file, '"9002:9002"')
    assert {(f["kind"], f["service"], f["port"], f["file"], f["line"]) for f in findings} == {
        ("duplicate-publish", "vscode", 9001, "docker-compose.yml", l9001),
        ("duplicate-publish", "vscode", 9002, "docker-compose.yml", l9002),
    }
    assert set(findings[0]) >= {"severity", "kind", "service", "port", "message", "hint", "file", "line", "fix"}
    text = cli(folder, "check", "--static")
    assert text.returncode == 1
    first = text.stdout.splitlines()[0]
    assert first.startswith(f"docker-compose.yml:{l9001}: error duplicate-publish vscode 9001: ")
    assert first.endswith(")")  # the hint closes the line


def test_ports_and_expose_on_a_service_in_another_network_namespace():
    folder = DATA / "shared-ports"
    file = folder / "compose.yaml"
    found = [f for f in static_findings(project_in(folder)) if f.kind == PORTS_ON_SHARED_NETWORK]
    mcp = line_of(file, "mcp-server:")
    assert [(f.service, f.port, f.line) for f in found] == [
        ("mcp-server", 19001, line_of(file, "19001:9001", mcp)),
        ("mcp-server", 19002, line_of(file, "- target: 9002", mcp)),  # long syntax: the item's first line
        ("mcp-server", 9003, line_of(file, '- "9003"', mcp)),
    ]
    assert all(f.file == file for f in found)
    assert "port publishing and the container type network mode" in found[0].message
    assert "port exposing and the container type network mode" in found[2].message
    assert "publish them on vscode" in found[0].hint


def test_two_members_of_one_namespace_declaring_one_listening_port():
    folder = DATA / "shared-ports"
    file = folder / "compose.yaml"
    found = [f for f in static_findings(project_in(folder)) if f.kind == DUPLICATE_LISTEN]
    # sidecar joins mcp-server, which joins vscode: all three share vscode's network namespace.
    assert [(f.service, f.port) for f in found] == [("sidecar", 8080)]
    assert found[0].file == file
    assert found[0].line == line_of(file, "listens: [8080, 7000]")
    assert "vscode" in found[0].message and "address already in use" in found[0].message
    assert f"line {line_of(file, 'listens: [8080]')}" in found[0].message


def test_publish_collisions_wildcards_ranges_and_protocols():
    folder = DATA / "publish"
    file = folder / "compose.yaml"
    found = static_findings(project_in(folder))
    loopback = line_of(file, "loopback:")
    ranged = line_of(file, "ranged:")
    assert [(f.severity, f.service, f.port, f.line) for f in found] == [
        # 127.0.0.1:7100 against every address: a collision
        (ERROR, "loopback", 7100, line_of(file, "127.0.0.1:7100:80", loopback)),
        # one port of a range Compose expanded
        (ERROR, "loopback", 7303, line_of(file, "127.0.0.1:7303:7303", loopback)),
        # a host range for one container port: the engine picks one, so only a warning
        (WARNING, "ranged", 7305, line_of(file, "7305-7310:80", ranged)),
    ]
    assert all(f.kind == DUPLICATE_PUBLISH and f.file == file for f in found)
    # Not reported: tcp 7200 vs udp 7200, 127.0.0.2:7400 vs 127.0.0.1:7400, 7402-7410 vs 7400.
    assert f"line {line_of(file, '${WILD_PORT:-7100}:80')}" in found[0].message


@pytest.mark.parametrize("stack", ["demo", "chain", "agentdb9"])
def test_the_shipped_stacks_have_no_static_findings(stack):
    assert static_findings(project_in(ROOT / "compose" / stack)) == []


def test_port_refs_follow_interpolated_and_expanded_entries():
    project = project_in(ROOT / "compose" / "demo")
    file = ROOT / "compose" / "demo" / "compose.yaml"
    refs = port_refs(project, "vscode")
    assert [r.line for r in refs] == [line_of(file, "DEMO_VSCODE_PORT"), line_of(file, "DEMO_MCP_HTTP_PORT"),
                                      line_of(file, "DEMO_MCP_WS_PORT")]
    folder = DATA / "publish"
    refs = port_refs(project_in(folder), "wildcard")
    range_line = line_of(folder / "compose.yaml", "7300-7305:7300-7305")
    assert [r.line for r in refs].count(range_line) == 6  # one source line, six published ports


@pytest.mark.parametrize("a, b, overlap", [
    ("", "127.0.0.1", True),
    ("0.0.0.0", "127.0.0.1", True),
    ("127.0.0.1", "0.0.0.0", True),
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "127.0.0.2", False),
    ("::", "127.0.0.1", True),
    ("0.0.0.0", "::1", False),
    ("::1", "[::1]", True),
    ("::ffff:127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "::1", False),
])
def test_addresses_overlap(a, b, overlap):
    assert addresses_overlap(a, b) is overlap
    assert addresses_overlap(b, a) is overlap


def test_port_range():
    assert port_range("8080") == (8080, 8080)
    assert port_range("8000-8010") == (8000, 8010)
    assert port_range(None) is None
    assert port_range("") is None


def test_a_configuration_error_exits_2_naming_file_and_line(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n    ports: [\"80:80\"\n")
    done = cli(tmp_path, "check", "--static")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("stacktui: ") and "compose.yaml:" in done.stderr and "invalid YAML" in done.stderr
