"""The demo stack on Podman 4.3's Docker-compatible API (`podman system service`), offline: what works,
and the one limit of this machine seen as a user would see it.

Measured here (root, no systemd): Podman runs healthchecks from systemd timers, so without systemd
no healthcheck ever runs and State.Health stays "starting"; stacktui's restart gates and `status`
run the healthcheck command themselves and pass. Stale detection, restart, check, projects, logs and
events work.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import DEMO_PORTS, devengine, make_stack, podman_session
from tests.faults_support import FaultStack, bind, until

# One private Podman (its storage and socket are per checkout): its tests run in one xdist worker.
pytestmark = pytest.mark.xdist_group(name="podman")


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[tuple[object, str]]:
    with podman_session() as service:
        yield service, service.image()


@pytest.fixture(scope="module")
def podman_stack(tmp_path_factory: pytest.TempPathFactory, podman) -> Iterator[FaultStack]:
    service, image = podman
    stack = bind(make_stack(tmp_path_factory.mktemp("pdm"), "demo", DEMO_PORTS), service.host)
    stack.extra_env = {"STACKTUI_DEMO_IMAGE": image}
    (stack.dir / ".env").write_text((stack.dir / ".env").read_text() + f"STACKTUI_DEMO_IMAGE={image}\n")
    try:
        # No --wait: without systemd Podman never runs the healthchecks --wait waits for.
        for _ in range(3):
            done = stack.compose("up", "-d", check=False)
            if done.returncode == 0 or not devengine.podman_interface_race(done.stderr):
                break
        assert done.returncode == 0, done.stderr
        yield stack
    finally:
        stack.compose("down", "-t", "1", check=False)


def test_projects_status_stale_restart_and_check_on_podman(podman_stack, tmp_path):
    stack = podman_stack
    data = json.loads(stack.stacktui("projects", "--json").stdout)
    row = next(p for p in data["projects"] if p["project"] == stack.name)
    assert (row["running"], row["stale"]) == (3, 0)

    status = json.loads(stack.stacktui("status", "--json").stdout)
    rows = {r["service"]: r for r in status["services"]}
    # The limit, as a user sees it: the healthcheck never ran, so Docker's word stays "starting";
    # status runs the healthcheck's command itself, as a restart's gate does, and says so.
    assert rows["vscode"]["docker_health"] == "starting" and rows["vscode"]["health"] == "healthy"
    assert "run by stacktui" in rows["vscode"]["health_output"]
    assert rows["mcp-server"]["probe"]["ok"] is True  # stacktui's own probe works

    subprocess.run(["docker", "restart", "-t", "1", f"{stack.name}-vscode-1"], env=stack.env(), check=True,
                   capture_output=True, timeout=60)
    rows = {r["service"]: r for r in json.loads(stack.stacktui("status", "--json").stdout)["services"]}
    assert rows["mcp-server"]["stale"] and "is not vscode's" in rows["mcp-server"]["stale_reason"]
    assert rows["mcp-server"]["probe"]["ok"] is False  # the seed failure, on Podman too

    restarted = stack.stacktui("restart", "vscode", "--timeout", "60")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "healthcheck command passed (run by stacktui)" in restarted.stdout
    rows = {r["service"]: r for r in json.loads(stack.stacktui("status", "--json").stdout)["services"]}
    assert not any(r["stale"] for r in rows.values()) and rows["mcp-server"]["probe"]["ok"] is True

    check = stack.stacktui("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip() == f"project {stack.name}: no findings (compose files, host ports and running namespaces checked)"


def test_logs_and_events_on_podman(podman_stack):
    from stacktui.core.engine.client import Engine

    engine = Engine(None, podman_stack.host)
    try:
        backend = podman_stack.container(engine, "backend")
        assert any("MCP" in line for line in engine.logs_tail(backend.id, 5))
        seen: list[dict] = []
        stream = engine.events(project=podman_stack.name)
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        time.sleep(0.5)
        engine.restart(backend.id, timeout=1)
        until(lambda: any(e.get("Action") == "start" and e.get("id") == backend.id for e in list(seen)),
              timeout=20, what="backend's start event from Podman")
        stream.close()
    finally:
        engine.close()
