"""Many projects on one engine: `stacktui projects`, isolation of a restart, `-p NAME` with and without files."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import DEMO_PORTS, Stack, running_stack
from tests.usercli import STACKTUI, cli_path


@pytest.fixture
def two_demos(tmp_path: Path, demo_image: str) -> Iterator[tuple[Stack, Stack]]:
    a_iter = running_stack(tmp_path / "a", "demo", DEMO_PORTS)
    a = next(a_iter)
    try:
        b_iter = running_stack(tmp_path / "b", "demo", DEMO_PORTS)
        b = next(b_iter)
        try:
            yield a, b
        finally:
            next(b_iter, None)
    finally:
        next(a_iter, None)


def stacktui(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    base.update({"NO_COLOR": "1", "PYTHONPATH": cli_path()})
    return subprocess.run([*STACKTUI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**base, **(env or {})})


def projects_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    done = stacktui(*args, "projects", "--json", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def by_name(data: dict) -> dict[str, dict]:
    return {p["project"]: p for p in data["projects"]}


def test_projects_lists_both_and_a_restart_in_one_leaves_the_other_untouched(two_demos, engine, tmp_path):
    a, b = two_demos
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    rows = by_name(projects_json(nowhere))
    for stack in (a, b):
        row = rows[stack.name]
        assert row["services"] == ["backend", "mcp-server", "vscode"]
        assert (row["running"], row["healthy"], row["stale"]) == (3, 3, 0)
        assert row["engine"] == os.environ["DOCKER_HOST"]
        assert row["working_dir"] == str(stack.dir) and row["config_files"] == [str(stack.file)]

    # Every container event on the engine, recorded live while A restarts vscode (and with it mcp-server).
    seen: list[dict] = []
    stream = engine.events()
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    b_before = {c.id: c.started_at for c in engine.project_containers(b.name)}
    done = stacktui("restart", "vscode", cwd=a.dir)
    assert done.returncode == 0, done.stdout + done.stderr
    stream.close()
    reader.join(10)
    touched = {(e.get("Actor") or {}).get("Attributes", {}).get("com.docker.compose.project") for e in seen
               if e.get("Action") in ("kill", "die", "stop", "start", "restart")}
    assert a.name in touched and b.name not in touched, touched
    assert {c.id: c.started_at for c in engine.project_containers(b.name)} == b_before

    # A raw restart of A's owner strands A's mcp-server; projects says so, and only for A.
    subprocess.run(["docker", "restart", "-t", "1", a.container(engine, "vscode").id], check=True,
                   capture_output=True, timeout=60)
    rows = by_name(projects_json(nowhere))
    assert (rows[a.name]["stale"], rows[a.name]["stale_services"]) == (1, ["mcp-server"])
    assert (rows[b.name]["stale"], rows[b.name]["running"]) == (0, 3)
    text = stacktui("projects", cwd=nowhere)
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith(a.name))
    assert "STALE: mcp-server" in line and "3 running" in line


def test_p_name_uses_the_files_its_labels_name_and_is_read_only_only_without_them(two_demos, tmp_path):
    a, _ = two_demos
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    done = stacktui("-p", a.name, "status", "--json", cwd=nowhere)
    data = json.loads(done.stdout)
    assert (data["read_only"], data["read_only_reason"]) == (False, None), done.stderr
    assert [r["service"] for r in data["services"]] == ["vscode", "mcp-server", "backend"]  # the file's order
    # Full features: a probe declared only in the file (x-stacktui.health) ran.
    assert data["services"][1]["probe"]["ok"] is True

    hidden = a.file.with_name("elsewhere.yaml")
    a.file.rename(hidden)
    try:
        done = stacktui("-p", a.name, "status", cwd=nowhere)
        first = done.stdout.splitlines()[0]
        assert first == (f"project {a.name} (attached read-only: {a.file} (from its labels) is not readable "
                         "here: No such file or directory)"), done.stdout + done.stderr
    finally:
        hidden.rename(a.file)


def test_a_layout_change_in_one_project_leaves_the_others_files_containers_and_namespaces(two_demos, engine):
    """Two copies of the same owner/joiner stack, in their own folders under their own names:
    `layout separate` in A rewrites A's file and recreates A's containers, and nothing of B."""
    a, b = two_demos
    b_file, b_env = b.file.read_bytes(), (b.dir / ".env").read_bytes()
    b_before = {c.service: (c.id, c.started_at, c.network_mode, c.ipc_mode) for c in engine.project_containers(b.name)}
    a_file = a.file.read_bytes()
    seen: list[dict] = []
    stream = engine.events()
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    done = stacktui("layout", "separate", "mcp-server", "--yes", cwd=a.dir)
    stream.close()
    reader.join(10)
    assert done.returncode == 0, done.stdout + done.stderr
    assert a.file.read_bytes() != a_file
    mcp = a.container(engine, "mcp-server")
    assert not mcp.network_mode.startswith("container:") and not mcp.ipc_mode.startswith("container:")

    assert (b.file.read_bytes(), (b.dir / ".env").read_bytes()) == (b_file, b_env)
    assert not (b.dir / ".stacktui").exists()  # no history written for B
    after = {c.service: (c.id, c.started_at, c.network_mode, c.ipc_mode) for c in engine.project_containers(b.name)}
    assert after == b_before
    vscode_b = b_before["vscode"][0]
    assert b_before["mcp-server"][2:] == (f"container:{vscode_b}", f"container:{vscode_b}")  # still in B's owner
    touched = {(e.get("Actor") or {}).get("Attributes", {}).get("com.docker.compose.project") for e in seen
               if e.get("Type") == "container" and not e.get("Action", "").startswith(("exec_", "health_status"))}
    assert a.name in touched and b.name not in touched, touched  # (B's healthchecks still run, as exec events)


def test_a_reader_that_closes_early_ends_the_output_quietly(tmp_path, docker_host):
    """`stacktui projects | head -1`: the reader going away is no lost engine; quiet, status 141 as
    for any tool a closed pipe ends (`yes | head -1`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env = {**base, "NO_COLOR": "1", "PYTHONPATH": cli_path()}
    read, write = os.pipe()
    reader = subprocess.Popen(["head", "-c", "0"], stdin=read)  # reads nothing, exits: the pipe has no reader
    os.close(read)
    assert reader.wait(timeout=10) == 0
    try:
        done = subprocess.run([*STACKTUI, "projects"], cwd=tmp_path, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")

    # As typed: the first line comes through, nothing on stderr (the reader may or may not be gone
    # before the rest is written, so the status is 0 or 141).
    piped = subprocess.run(["sh", "-c", f"{shlex.quote(sys.executable)} -m stacktui projects --json | head -c 1"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert piped.stdout.startswith("{") and piped.stderr == "", piped.stderr


def test_a_service_without_healthcheck_is_running_not_healthy(text_stack, engine, tmp_path):
    """The projects list (CLI, JSON and the TUI's screen) counts it apart: running, no healthcheck."""
    from stacktui.core.ops.projects import list_projects
    from stacktui.ui.projects import _cells

    stack = text_stack("services:\n"
                       "  checked:\n    image: ${STACKTUI_DEMO_IMAGE}\n    command: [\"sleep\", \"600\"]\n"
                       "    init: true\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1s\n"
                       "  unchecked:\n    image: ${STACKTUI_DEMO_IMAGE}\n    command: [\"sleep\", \"600\"]\n"
                       "    init: true\n")
    stack.up()
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    row = by_name(projects_json(nowhere))[stack.name]
    assert (row["running"], row["healthy"], row["no_healthcheck"], row["stale"]) == (2, 1, 1, 0)
    listed = stacktui("projects", cwd=nowhere)
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(stack.name))
    assert line.endswith("2 running  1 healthy  1 without healthcheck")
    summary = next(p for p in list_projects(engine, "here") if p.project == stack.name)
    assert str(_cells(summary)[4]) == "1 +1 no healthcheck"
