"""The engine over ssh://: a private sshd on 127.0.0.1 (host key, config and authorized key of the test's
own) whose sessions reach the shared engine; `ssh` is a wrapper on PATH that adds the test's client
config, so the machine's own ssh setup is neither read nor touched.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import devengine, free_port
from tests.faults_support import until
from tests.remote_tui import app_follows_a_remote_engine
from tests.usercli import STACKTUI, cli_path


@pytest.fixture(scope="module")
def ssh_env(docker_host: str) -> Iterator[dict[str, str]]:
    """A client environment whose DOCKER_HOST is ssh://root@127.0.0.1:PORT, and the sshd behind it."""
    devengine.ensure_tools()
    with tempfile.TemporaryDirectory(prefix="stkssh-") as tmp:
        sshd = devengine.PrivateSSHD(Path(tmp), docker_host, free_port()).start()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
            env.update({**sshd.env(), "NO_COLOR": "1", "PYTHONPATH": cli_path(),
                        "STACKTUI_DEMO_IMAGE": os.environ.get("STACKTUI_DEMO_IMAGE", "")})
            yield env
        finally:
            sshd.stop()


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STACKTUI, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_projects_status_and_restart_over_ssh(demo_stack, ssh_env, engine, tmp_path):
    host = ssh_env["DOCKER_HOST"]
    listed = run(["projects", "--json"], tmp_path, ssh_env)
    assert listed.returncode == 0, listed.stderr
    row = next(p for p in json.loads(listed.stdout)["projects"] if p["project"] == demo_stack.name)
    assert (row["engine"], row["running"], row["healthy"], row["stale"]) == (host, 3, 3, 0)

    status = run(["status"], demo_stack.dir, ssh_env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.splitlines()[0] == f"project {demo_stack.name} on {host}"
    vscode_before = demo_stack.container(engine, "vscode").started_at
    restarted = run(["restart", "vscode"], demo_stack.dir, ssh_env)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert demo_stack.container(engine, "vscode").started_at > vscode_before
    rows = {r["service"]: r for r in json.loads(run(["status", "--json"], demo_stack.dir, ssh_env).stdout)["services"]}
    assert not any(r["stale"] for r in rows.values())

    nobody = f"ssh://root@127.0.0.1:{free_port()}"  # no sshd there: ssh's own words, not a hang
    refused = run(["projects"], tmp_path, {**ssh_env, "DOCKER_HOST": nobody})
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"stacktui: engine {nobody}: the Docker engine at {nobody} does not answer "
                                     "over ssh: ssh: connect to host 127.0.0.1 port"), refused.stderr
    assert "Connection refused" in refused.stderr


async def test_compose_logs_events_and_the_app_over_ssh(demo_stack, ssh_env, monkeypatch):
    from stacktui.commands.context import Context
    from stacktui.core.compose import cli as composecli

    for key in [k for k in os.environ if k.startswith("DOCKER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DOCKER_HOST", ssh_env["DOCKER_HOST"])
    monkeypatch.setenv("PATH", ssh_env["PATH"])
    monkeypatch.chdir(demo_stack.dir)
    ctx = Context(files=[str(demo_stack.file)])
    try:
        engine = ctx.engine
        assert not engine.is_local() and ctx.endpoint.address == "127.0.0.1"
        done = composecli.run(ctx.target, ["ps", "-q", "--all"])  # Compose itself, over the same ssh
        assert {ln.strip() for ln in done.stdout.split()} == {c.id for c in engine.project_containers(demo_stack.name)}
        backend = demo_stack.container(engine, "backend")
        assert any("MCP reachable" in line for line in engine.logs_tail(backend.id, 5))
        seen: list[dict] = []
        stream = engine.events(project=demo_stack.name)
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        time.sleep(0.5)
        engine.restart(backend.id, timeout=1)
        until(lambda: any(e.get("Action") == "start" and e.get("id") == backend.id for e in list(seen)),
              timeout=20, what="backend's start event over ssh")
        stream.close()
        # The app on the same engine: the log pane and the table follow it through the ssh proxy.
        await app_follows_a_remote_engine(ctx.project, engine, ctx.target)
    finally:
        ctx.close()
