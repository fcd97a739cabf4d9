"""Layout transforms on copies of the compose files: golden results, round trips, refusals.

No engine here: Compose's own `config` (the real CLI) reads the copies, ruamel.yaml edits them.
"""
from __future__ import annotations

import difflib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stacktui.core.compose.cli import compose_command
from stacktui.core.compose.discovery import resolve_target
from stacktui.core.errors import ConfigError
from stacktui.core.layout.prepare import PortsUnknown, prepare_separate, prepare_shared, rewrite_refs
from stacktui.core.compose.model import Project
from stacktui.core.loader import load_project
from stacktui.core.compose.source import detect_indent, parse_text, round_trip_yaml

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
STACKS = {"agentdb9": "docker-compose.yml", "demo": "compose.yaml", "chain": "compose.yaml"}


def copy_stack(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(ROOT / "compose" / name, dest)
    return dest / STACKS[name]


def load(file: Path) -> Project:
    return load_project(resolve_target([file]))


def write_compose(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "compose.yaml"
    file.write_text(text)
    return file


def changed_lines(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]


def without_sharing_notes(text: str) -> str:
    """The original with the comments that separating makes false taken out, written out by hand."""
    return text.replace(" (shared namespace)", "").replace("    # Ports exposed through vscode service\n", "")


def compose_config(file: Path) -> dict:
    """What Compose itself reads from the file (the real CLI's `config`)."""
    done = subprocess.run([*compose_command(), "-f", str(file), "config", "--format", "json"], cwd=file.parent,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def comment_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if "#" in ln and "${" not in ln.split("#", 1)[1]]


@pytest.mark.parametrize("name", sorted(STACKS))
def test_a_round_trip_without_edits_changes_no_byte(name):
    text = (ROOT / "compose" / name / STACKS[name]).read_text()
    yaml = round_trip_yaml(text)
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    assert out.getvalue() == text


def test_indentation_is_read_from_the_file():
    four = "services:\n    web:\n        image: x\n        ports:\n            - '80:80'\n"
    flush = "services:\n  web:\n    image: x\n    ports:\n    - '80:80'\n"
    assert detect_indent(four) == (4, 6, 4)
    assert detect_indent(flush) == (2, 2, 0)
    for text in (four, flush):
        yaml = round_trip_yaml(text)
        out = io.StringIO()
        yaml.dump(yaml.load(text), out)
        assert out.getvalue() == text


def test_separate_mcp_server_gives_the_reference_rollback_and_frees_vscode(tmp_path):
    file = copy_stack(tmp_path, "agentdb9")
    original = file.read_text()
    change = prepare_separate(load(file), "mcp-server")

    assert change.new_text == (GOLDEN / "agentdb9-separate-mcp-server.yml").read_text()
    assert file.read_text() == original, "preparing a change writes nothing"
    services = parse_text(change.new_text, file)["services"]
    mcp, vscode, backend = services["mcp-server"], services["vscode"], services["backend"]
    # The reference document's rollback ...
    assert "network_mode" not in mcp and "ipc" not in mcp
    assert list(mcp["ports"]) == ["9001:9001", "9002:9002"]
    assert list(backend["environment"]) == ["MCP_SERVER_URL=http://mcp-server:9001"]
    # ... plus what it forgets: vscode no longer publishes them (else two publishers of one host port),
    # and nobody joins vscode's ipc namespace any more.
    assert list(vscode["ports"]) == ["8080:8080"]
    assert "ipc" not in vscode
    # mcp-server's own localhost reference to vscode's port, and its probe, follow the move.
    assert list(mcp["environment"]) == ["VSCODE_URL=http://vscode:8080"]
    assert mcp["x-stacktui"]["health"] == "http://mcp-server:9001/health"
    assert change.touched_services == ["vscode", "mcp-server", "backend"]
    assert change.ports == (9001, 9002)
    # Only the lines that must change do.
    assert changed_lines(change.diff) == [
        "-    ipc: shareable",
        '-      - "9001:9001"   # MCP HTTP (shared namespace)',
        '-      - "9002:9002"   # MCP WebSocket (shared namespace)',
        '-    network_mode: "service:vscode"',
        '-    ipc: "service:vscode"',
        "-    # Ports exposed through vscode service",  # false once it is separate
        '+    ports:',
        '+      - "9001:9001"   # MCP HTTP',  # the aside about the sharing goes, the rest stays
        '+      - "9002:9002"   # MCP WebSocket',
        "-      - VSCODE_URL=http://localhost:8080",
        "+      - VSCODE_URL=http://vscode:8080",
        "-      health: http://vscode:9001/health",
        "+      health: http://mcp-server:9001/health",
        "-      - MCP_SERVER_URL=http://vscode:9001",
        "+      - MCP_SERVER_URL=http://mcp-server:9001",
    ]
    # Every other comment survives, each still beside what it describes.
    assert comment_lines(change.new_text) == [
        c.replace(" (shared namespace)", "") for c in comment_lines(original)
        if c != "# Ports exposed through vscode service"]


def test_shared_gives_an_equivalent_optimized_layout_back(tmp_path):
    """Equivalent, not byte for byte: the comments separating made false do not come back (undo
    is the byte-for-byte way back: tests/test_history.py)."""
    file = copy_stack(tmp_path, "agentdb9")
    original = file.read_text()
    config = compose_config(file)
    file.write_text((GOLDEN / "agentdb9-separate-mcp-server.yml").read_text())
    change = prepare_shared(load(file), "mcp-server", "vscode")
    assert change.new_text == without_sharing_notes(original)
    assert change.kind == "shared" and change.owner == "vscode"
    file.write_text(change.new_text)
    assert compose_config(file) == config


# What separating changes in each shipped stack, written out by hand: the golden files are
# checked against these, so a golden cannot simply be the implementation's own output.
HAND_WRITTEN = {
    "demo-separate-mcp-server.yaml": [
        "-    ipc: shareable",
        '-      - "127.0.0.1:${DEMO_MCP_HTTP_PORT:-19001}:9001" # MCP HTTP (shared namespace)',
        '-      - "127.0.0.1:${DEMO_MCP_WS_PORT:-19002}:9002"   # MCP WebSocket (shared namespace)',
        '-    network_mode: "service:vscode"',
        '-    ipc: "service:vscode"',
        "-    # Ports exposed through vscode service",
        "+    ports:",
        '+      - "127.0.0.1:${DEMO_MCP_HTTP_PORT:-19001}:9001" # MCP HTTP',
        '+      - "127.0.0.1:${DEMO_MCP_WS_PORT:-19002}:9002"   # MCP WebSocket',
        "-      health: http://vscode:9001/health",
        "+      health: http://mcp-server:9001/health",
        "-      - MCP_SERVER_URL=http://vscode:9001/health",
        "+      - MCP_SERVER_URL=http://mcp-server:9001/health",
    ],
    "chain-separate-api.yaml": [
        "-    ipc: shareable",
        '-      - "127.0.0.1:${CHAIN_API_PORT:-17002}:7002"',
        '-      - "127.0.0.1:${CHAIN_WORKER_PORT:-17003}:7003"',
        '-    network_mode: "service:gateway"',
        '-    ipc: "service:gateway"',
        "+    ports:",
        '+      - "127.0.0.1:${CHAIN_API_PORT:-17002}:7002"',
        '+      - "127.0.0.1:${CHAIN_WORKER_PORT:-17003}:7003"',
        "-      health: http://gateway:7002/health",
        "+      health: http://api:7002/health",
        "-      health: http://gateway:7003/health",  # worker's probe: it still lives in api's namespace
        "+      health: http://api:7003/health",
        "-      - WORKER_URL=http://gateway:7003/health",
        "+      - WORKER_URL=http://api:7003/health",
    ],
}


@pytest.mark.parametrize("stack,golden", [("demo", "demo-separate-mcp-server.yaml"),
                                          ("chain", "chain-separate-api.yaml")])
def test_the_golden_files_differ_from_the_stacks_only_as_written_by_hand(stack, golden):
    original = (ROOT / "compose" / stack / STACKS[stack]).read_text().splitlines()
    result = (GOLDEN / golden).read_text().splitlines()
    assert changed_lines("\n".join(difflib.unified_diff(original, result, lineterm=""))) == HAND_WRITTEN[golden]


@pytest.mark.parametrize("stack,service,owner,golden", [
    ("demo", "mcp-server", "vscode", "demo-separate-mcp-server.yaml"),
    ("chain", "api", "gateway", "chain-separate-api.yaml"),
])
def test_separate_gives_the_golden_and_shared_an_equivalent_file_back(tmp_path, stack, service, owner, golden):
    file = copy_stack(tmp_path, stack)
    original = file.read_text()
    config = compose_config(file)
    change = prepare_separate(load(file), service)
    assert change.new_text == (GOLDEN / golden).read_text()
    assert changed_lines(change.diff) == HAND_WRITTEN[golden]
    file.write_text(change.new_text)
    back = prepare_shared(load(file), service, owner)
    # ipc: shareable back where it stood, every line as it was but the notes separating dropped.
    assert back.new_text == without_sharing_notes(original)
    file.write_text(back.new_text)
    assert compose_config(file) == config


def test_separating_api_takes_worker_and_its_port_along(tmp_path):
    file = copy_stack(tmp_path, "chain")
    change = prepare_separate(load(file), "api")
    services = parse_text(change.new_text, file)["services"]
    assert services["worker"]["network_mode"] == "service:api", "worker keeps joining api"
    assert [p.rsplit(":", 1)[1] for p in services["api"]["ports"]] == ["7002", "7003"]
    assert [p.rsplit(":", 1)[1] for p in services["gateway"]["ports"]] == ["7001"]
    assert "ipc" not in services["gateway"]
    assert list(services["client"]["environment"]) == ["WORKER_URL=http://api:7003/health"]
    assert services["worker"]["x-stacktui"]["health"] == "http://api:7003/health"
    assert change.reason == "separate api from gateway, taking worker along (ports 7002, 7003)"


def test_without_listens_the_ports_are_asked_for_not_guessed(tmp_path):
    file = copy_stack(tmp_path, "agentdb9")
    file.write_text(file.read_text().replace("      listens: [9001, 9002]\n", ""))
    with pytest.raises(PortsUnknown) as caught:
        prepare_separate(load(file), "mcp-server")
    assert caught.value.candidates == [9001, 9002]
    assert caught.value.service == "mcp-server"
    assert "--ports 9001,9002" in str(caught.value)
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2

    change = prepare_separate(load(file), "mcp-server", ports=[9001, 9002])
    golden = (GOLDEN / "agentdb9-separate-mcp-server.yml").read_text()
    assert change.new_text == golden.replace("      listens: [9001, 9002]\n", "")


def test_a_port_another_member_claims_cannot_move(tmp_path):
    file = copy_stack(tmp_path, "agentdb9")
    with pytest.raises(ConfigError, match="8080 is vscode's"):
        prepare_separate(load(file), "mcp-server", ports=[8080, 9001])


SYNTHETIC = """\
---
# a stack in another style: 4-space indent, map environments, long-form ports
services:
    web:
        image:    busybox
        ipc: shareable
        ports:
            - target: 80
              published: "8080"
            - "9000:9000"  # api
        x-note: ~
    api:
        image: busybox
        network_mode: service:web
        ipc: service:web
        command: [ "sh",   "-c", "serve" ]
        environment:
            WEB: http://127.0.0.1:80/
            SELF: http://localhost:9000/
        x-stacktui:
            listens: [9000]
    client:
        image: busybox
        environment:
            API_URL: "http://web:9000/v1"
            WEB_URL: http://web:80
            NOT_A_PORT: web:9000@example
"""


def test_map_environments_long_ports_and_foreign_style_are_kept(tmp_path):
    file = write_compose(tmp_path, SYNTHETIC)
    change = prepare_separate(load(file), "api")
    services = parse_text(change.new_text, file)["services"]
    assert services["api"]["environment"] == {"WEB": "http://web:80/", "SELF": "http://localhost:9000/"}
    assert services["client"]["environment"]["API_URL"] == "http://api:9000/v1"
    assert services["client"]["environment"]["WEB_URL"] == "http://web:80"
    assert services["client"]["environment"]["NOT_A_PORT"] == "web:9000@example"
    assert list(services["api"]["ports"]) == ["9000:9000"]
    assert services["web"]["ports"][0]["target"] == 80
    # Lines ruamel.yaml would restyle are not touched: only the edited ones differ.
    for kept in ("---", "    web:", "        image:    busybox", "        x-note: ~",
                 '        command: [ "sh",   "-c", "serve" ]'):
        assert kept in change.new_text.splitlines()
    assert '            API_URL: "http://api:9000/v1"' in change.new_text.splitlines()
    changed = [ln for ln in change.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert len(changed) == 10, change.diff


def test_crlf_files_stay_crlf(tmp_path):
    file = tmp_path / "compose.yaml"
    file.write_bytes((ROOT / "compose/agentdb9/docker-compose.yml").read_bytes().replace(b"\n", b"\r\n"))
    change = prepare_separate(load(file), "mcp-server")
    golden = (GOLDEN / "agentdb9-separate-mcp-server.yml").read_text()
    assert change.new_text == golden.replace("\n", "\r\n")


def test_what_cannot_be_done_is_refused_with_file_and_line(tmp_path):
    file = copy_stack(tmp_path, "agentdb9")
    project = load(file)
    with pytest.raises(ConfigError, match="backend shares no namespace") as caught:
        prepare_separate(project, "backend")
    assert caught.value.where is not None and caught.value.where.line == 32
    with pytest.raises(ConfigError, match="already shares vscode's network"):
        prepare_shared(project, "mcp-server", "vscode")
    with pytest.raises(ConfigError, match="mcp-server joins vscode's network namespace"):
        prepare_shared(project, "vscode", "mcp-server")
    with pytest.raises(ConfigError, match="unknown service 'nope'"):
        prepare_separate(project, "nope")
    with pytest.raises(ConfigError, match="cannot share its own"):
        prepare_shared(project, "backend", "backend")


def test_two_services_on_one_port_are_not_put_in_one_namespace(tmp_path):
    file = write_compose(tmp_path, "services:\n  a:\n    image: x\n    x-stacktui:\n      listens: [8080]\n"
                                   "  b:\n    image: x\n    ports:\n      - '18080:8080'\n")
    with pytest.raises(ConfigError, match="port 8080 is used in both b's and a's namespaces"):
        prepare_shared(load(file), "b", "a")


def test_shared_into_a_service_without_ports_or_ipc(tmp_path):
    file = write_compose(tmp_path, "services:\n  a:\n    image: x\n    command: serve\n"
                                   "  b:\n    image: x  # the helper\n    ports:\n      - '9001:9001'  # api\n"
                                   "    # b's settings follow\n    environment:\n      - URL=http://a:80\n"
                                   "  c:\n    image: x\n    environment:\n      - B=http://b:9001\n")
    change = prepare_shared(load(file), "b", "a")
    assert change.new_text == (
        "services:\n  a:\n    image: x\n    command: serve\n    ipc: shareable\n    ports:\n"
        "      - '9001:9001'  # api\n"
        "  b:\n    image: x  # the helper\n    network_mode: \"service:a\"\n    ipc: \"service:a\"\n"
        "    # b's settings follow\n    environment:\n      - URL=http://localhost:80\n"
        "  c:\n    image: x\n    environment:\n      - B=http://a:9001\n")


def test_anchored_ports_are_not_edited_behind_the_users_back(tmp_path):
    file = write_compose(tmp_path, "x-ports: &ports\n  - '9001:9001'\nservices:\n  a:\n    image: x\n"
                                   "    ipc: shareable\n    ports: *ports\n"
                                   "  b:\n    image: x\n    network_mode: service:a\n    x-stacktui:\n"
                                   "      listens: [9001]\n")
    with pytest.raises(ConfigError, match="ports of a is a YAML alias"):
        prepare_separate(load(file), "b")


def test_rewrite_refs_only_touches_whole_host_port_pairs():
    def rule(host: str, port: int) -> str | None:
        return "mcp-server" if host == "vscode" and port == 9001 else None

    assert rewrite_refs("http://vscode:9001/health", rule) == "http://mcp-server:9001/health"
    assert rewrite_refs("vscode:9001,vscode:90011,myvscode:9001", rule) == "mcp-server:9001,vscode:90011,myvscode:9001"
    assert rewrite_refs("ws://user:pw@vscode:9001", rule) == "ws://user:pw@mcp-server:9001"
    assert rewrite_refs("http://vscode:8080", rule) == "http://vscode:8080"
    assert re.search("mcp", rewrite_refs("tcp://vscode:9001", rule))


def test_a_localhost_port_nobody_declares_is_pointed_out_not_guessed(tmp_path):
    file = write_compose(tmp_path, "services:\n  a:\n    image: x\n    ports: ['8080:8080']\n"
                                   "  b:\n    image: x\n    network_mode: service:a\n    environment:\n"
                                   "      - DB=localhost:5432\n      - WEB=localhost:8080\n"
                                   "    x-stacktui:\n      listens: [8080]\n")
    change = prepare_separate(load(file), "b")
    services = parse_text(change.new_text, file)["services"]
    assert list(services["b"]["environment"]) == ["DB=localhost:5432", "WEB=localhost:8080"]
    assert change.notes == ["b refers to localhost:5432, which nobody declares; after the change localhost is "
                            "b's own namespace: if that port is a's, write a:PORT"]


def test_separating_an_ipc_only_dependant_moves_no_port(tmp_path):
    file = write_compose(tmp_path, "services:\n  a:\n    image: x\n    ipc: shareable  # for b\n"
                                   "    ports: ['8080:8080']\n  b:\n    image: x\n    ipc: service:a\n"
                                   "    environment:\n      - A=http://a:8080\n")
    change = prepare_separate(load(file), "b")
    assert change.new_text == ("services:\n  a:\n    image: x\n    ports: ['8080:8080']\n"
                               "  b:\n    image: x\n    environment:\n      - A=http://a:8080\n")
    assert change.reason == "separate b from a" and change.ports == ()
