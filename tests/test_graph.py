"""The stack graph: edges from namespaces, volumes_from and depends_on; who restarts with whom, in which order;
cycles and missing targets named with file and line (even where Compose itself refuses first)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.errors import ConfigError
from stacktui.core.namespaces.graph import project_graph
from stacktui.core.loader import load_project

ROOT = Path(__file__).resolve().parent.parent


def load(folder: Path, *names: str, project: str = "g"):
    files = [folder / n for n in (names or ("compose.yaml",))]
    return load_project(resolve_target(files=files, project_name=project, cwd=folder))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def test_demo_graph_restart_set_and_order():
    project = load(ROOT / "compose" / "demo")
    graph = project_graph(project)
    kinds = {(e.dependant, e.target, e.kind) for e in graph.edges}
    assert {("mcp-server", "vscode", "network"), ("mcp-server", "vscode", "ipc"),
            ("backend", "vscode", "depends_on")} <= kinds
    # Compose adds depends_on vscode with restart: true for network_mode service:vscode.
    implicit = next(e for e in graph.edges if e.dependant == "mcp-server" and e.kind == "depends_on")
    assert implicit.restart and implicit.where is not None
    assert implicit.where.line == line_of(project.files[0], 'network_mode: "service:vscode"')
    # backend's short-form depends_on has no restart: it keeps running through a vscode restart.
    assert list(graph.restart_set(["vscode"])) == ["vscode", "mcp-server"]
    assert graph.order(graph.restart_set(["vscode"])) == ["vscode", "mcp-server"]
    assert list(graph.restart_set(["mcp-server"])) == ["mcp-server"]  # the owner's namespace survives
    assert graph.order(project.services) == ["vscode", "mcp-server", "backend"]


def test_chain_is_transitive_and_ordered():
    graph = project_graph(load(ROOT / "compose" / "chain"))
    assert graph.namespace_dependants("gateway") == ["api", "worker"]
    why = graph.restart_set(["gateway"])
    assert graph.order(why) == ["gateway", "api", "worker"]
    assert "worker joins api's network namespace" in why["worker"]
    assert graph.order(graph.restart_set(["api"])) == ["api", "worker"]


def test_reference_stack_parses_and_plans_vscode_then_mcp():
    graph = project_graph(load(ROOT / "compose" / "agentdb9", "docker-compose.yml"))
    assert graph.order(graph.restart_set(["vscode"]))[:2] == ["vscode", "mcp-server"]


def test_depends_on_restart_true_volumes_from_and_container_refs(tmp_path):
    f = write(tmp_path / "compose.yaml", """\
services:
  db:
    image: x
  cache:
    image: x
    network_mode: "container:g-db-1"
  api:
    image: x
    depends_on:
      db: {condition: service_healthy, restart: true}
  worker:
    image: x
    depends_on:
      api: {condition: service_started, restart: true}
  backup:
    image: x
    volumes_from: [db]
  outsider:
    image: x
    network_mode: "container:somebody-else"
""")
    project = load(tmp_path)
    graph = project_graph(project)
    api_db = next(e for e in graph.edges if e.dependant == "api")
    assert (api_db.condition, api_db.restart) == ("service_healthy", True)
    assert api_db.where is not None and api_db.where.file == f and api_db.where.line == line_of(f, "db: {condition")
    cache = next(e for e in graph.edges if e.dependant == "cache" and e.kind == "network")
    assert cache.target == "db"  # container:<project>-db-1 is the project's db
    assert not [e for e in graph.edges if e.dependant == "outsider"]
    why = graph.restart_set(["db"])
    # restart: true is followed transitively; volumes_from orders start-up but does not strand anyone.
    assert graph.order(why) == ["db", "cache", "api", "worker"]
    assert "backup" not in why
    assert graph.order(project.services)[0] == "db"


@pytest.mark.parametrize("body, needle, words", [
    ('  a:\n    image: x\n    network_mode: "service:nope"\n', "network_mode", ["'a'", "network_mode", "'nope'"]),
    ('  a:\n    image: x\n    ipc: "service:nope"\n', "ipc:", ["ipc", "'nope'"]),
    ("  a:\n    image: x\n  b:\n    image: x\n    depends_on:\n      - a\n      - ghost\n", "- ghost",
     ["depends_on", "'ghost'"]),
    ("  a:\n    image: x\n    volumes_from: [nope]\n", "volumes_from", ["volumes_from", "'nope'"]),
    ('  a:\n    image: x\n    network_mode: "service:b"\n  b:\n    image: x\n    volumes_from: [a]\n',
     "network_mode", ["cycle", "a -> b -> a", "volumes_from"]),
    ("  a:\n    image: x\n    depends_on: [a]\n", "depends_on", ["cycle", "a -> a"]),
])
def test_compose_refusals_come_back_with_file_and_line(tmp_path, body, needle, words):
    f = write(tmp_path / "compose.yaml", "services:\n" + body)
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    e = err.value
    assert e.where is not None and e.where.file == f, str(e)
    assert e.where.line == line_of(f, needle), str(e)
    for w in words:
        assert w in str(e)


def test_a_missing_target_in_an_override_file_names_that_file(tmp_path):
    write(tmp_path / "compose.yaml", "services:\n  a:\n    image: x\n  b:\n    image: x\n")
    override = write(tmp_path / "compose.override.yaml", 'services:\n  b:\n    network_mode: "service:zz"\n')
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "compose.yaml", "compose.override.yaml")
    assert err.value.where is not None
    assert (err.value.where.file, err.value.where.line) == (override, 3)


def test_a_cycle_compose_lets_through_is_caught_with_its_line(tmp_path):
    """Compose does not follow container:NAME; stacktui does, so the loop is still found."""
    f = write(tmp_path / "compose.yaml", """\
services:
  a:
    image: x
    network_mode: "container:g-b-1"
  b:
    image: x
    ipc: "service:a"
""")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert "cycle" in str(err.value)
    assert err.value.where is not None and err.value.where.file == f
    assert err.value.where.line in (line_of(f, "container:g-b-1"), line_of(f, 'ipc: "service:a"'))


def test_cli_prints_file_and_line_and_exits_2(tmp_path):
    f = write(tmp_path / "compose.yaml", 'services:\n  a:\n    image: x\n    network_mode: "service:nope"\n')
    done = subprocess.run([*STACKTUI, "restart", "a", "--dry-run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env=cli_env())
    assert done.returncode == 2
    assert f"{f}:4" in done.stderr and "'nope'" in done.stderr
    assert done.stdout == ""
