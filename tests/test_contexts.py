"""A docker context made with `docker context create` under a temporary DOCKER_CONFIG, used three ways:
`--context`, `DOCKER_CONTEXT` and the current context; Compose reaches the same engine each time."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.usercli import STACKTUI, cli_path


@pytest.fixture
def context_env(tmp_path: Path, docker_host: str) -> dict[str, str]:
    """The environment of a user whose engine is known only through the context `stk-ctx`."""
    cfg = tmp_path / "dockercfg"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env.update({"DOCKER_CONFIG": str(cfg), "NO_COLOR": "1", "PYTHONPATH": cli_path()})
    subprocess.run(["docker", "context", "create", "stk-ctx", "--docker", f"host={docker_host}"],
                   env=env, check=True, capture_output=True, timeout=30)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STACKTUI, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_context_through_flag_variable_and_current(demo_stack, context_env, tmp_path):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    # No context chosen and no DOCKER_HOST: the default socket, which this machine does not have.
    gone = run(["projects"], nowhere, context_env)
    assert gone.returncode == 2
    assert "the Docker engine at unix:///var/run/docker.sock does not answer" in gone.stderr

    flag = run(["--context", "stk-ctx", "projects", "--json"], nowhere, context_env)
    assert flag.returncode == 0, flag.stderr
    row = next(p for p in json.loads(flag.stdout)["projects"] if p["project"] == demo_stack.name)
    assert (row["engine"], row["running"], row["stale"]) == ("stk-ctx", 3, 0)

    by_var = run(["-p", demo_stack.name, "status", "--json"], nowhere, {**context_env, "DOCKER_CONTEXT": "stk-ctx"})
    status = json.loads(by_var.stdout)
    assert status["engine"] == "stk-ctx" and status["read_only"] is False, by_var.stderr
    assert {r["service"]: r["health"] for r in status["services"]} == {
        "vscode": "healthy", "mcp-server": "healthy", "backend": "healthy"}

    subprocess.run(["docker", "context", "use", "stk-ctx"], env=context_env, check=True, capture_output=True,
                   timeout=30)
    # The current context, and a DOCKER_CONTEXT naming nothing must not mislead: --context wins.
    restarted = run(["restart", "mcp-server"], demo_stack.dir, context_env)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    bogus = run(["--context", "stk-ctx", "status"], demo_stack.dir, {**context_env, "DOCKER_CONTEXT": "nope"})
    assert bogus.returncode in (0, 1) and bogus.stderr == "", bogus.stdout + bogus.stderr  # 1: still starting
    assert bogus.stdout.splitlines()[0] == f"project {demo_stack.name}"  # a unix socket: local, no engine named


def test_compose_gets_the_engine_stacktui_resolved(demo_stack, context_env, monkeypatch):
    """A real Compose call through the wrapper, from an environment that alone names no engine."""
    from stacktui.commands.context import Context
    from stacktui.core.compose import cli as composecli

    for key in [k for k in os.environ if k.startswith("DOCKER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DOCKER_CONFIG", context_env["DOCKER_CONFIG"])
    monkeypatch.setenv("DOCKER_CONTEXT", "nope")  # Compose alone would fail on this
    monkeypatch.chdir(demo_stack.dir)
    ctx = Context(files=[str(demo_stack.file)], contexts=["stk-ctx"])
    try:
        done = composecli.run(ctx.target, ["ps", "-q", "--all"])
        ids = {line.strip() for line in done.stdout.splitlines() if line.strip()}
        assert ids and ids == {c.id for c in ctx.engine.project_containers(demo_stack.name)}
    finally:
        ctx.close()
