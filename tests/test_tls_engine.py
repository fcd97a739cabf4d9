"""A second private engine reachable only over TCP with TLS on 127.0.0.1: projects, status, restart,
logs and events through the SDK, with certificates this test makes.

It runs on a bridge of its own (stktls0), beside the fault engine's, and is one xdist group (tests/conftest.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import DEMO_PORTS, devengine, free_port, make_stack
from tests.faults_support import FaultStack, bind, machine_lock, until
from tests.tls_support import make_certs
from tests.usercli import STACKTUI, cli_path


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[dict[str, str]]:
    """The engine's client environment: DOCKER_HOST=tcp://127.0.0.1:PORT, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH."""
    devengine.ensure_tools()
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    port = free_port()
    private = devengine.tls_engine(certs, port)
    with machine_lock("tls"):
        yield from _started(private, tmp_path_factory, port, certs)


def _started(private, tmp_path_factory: pytest.TempPathFactory, port: int, certs: Path) -> Iterator[dict[str, str]]:
    private.start()
    try:
        image = devengine.image(private.host)  # built over the unix socket, the one way in besides TLS
        # The engine is this test's own: whatever an earlier, interrupted run left on it goes.
        local = {**os.environ, "DOCKER_HOST": private.host}
        left = subprocess.run(["docker", "ps", "-aq"], env=local, capture_output=True, text=True, timeout=30).stdout.split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], env=local, capture_output=True, timeout=60)
        subprocess.run(["docker", "network", "prune", "-f"], env=local, capture_output=True, timeout=60)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
        env.update({"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1",
                    "DOCKER_CERT_PATH": str(certs), "STACKTUI_DEMO_IMAGE": image, "NO_COLOR": "1",
                    "PYTHONPATH": cli_path(), "DOCKER_CONFIG": str(tmp_path_factory.mktemp("dockercfg"))})
        yield env
    finally:
        private.stop()
        shutil.rmtree(private.run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory: pytest.TempPathFactory, tls_engine: dict[str, str]) -> Iterator[FaultStack]:
    stack = bind(make_stack(tmp_path_factory.mktemp("tlsdemo"), "demo", DEMO_PORTS), tls_engine["DOCKER_HOST"])
    stack.extra_env = {k: tls_engine[k] for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "STACKTUI_DEMO_IMAGE")}
    try:
        done = stack.compose("up", "-d", "--wait", "--wait-timeout", "60", check=False)
        assert done.returncode == 0, done.stderr
        yield stack
    finally:
        stack.compose("down", "-v", "-t", "1", check=False)


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STACKTUI, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_projects_status_check_and_restart_over_tls(tls_stack, tls_engine, tmp_path):
    host = tls_engine["DOCKER_HOST"]
    data = json.loads(run(["projects", "--json"], tmp_path, tls_engine).stdout)
    assert [(p["project"], p["engine"], p["running"], p["healthy"], p["stale"]) for p in data["projects"]] == [
        (tls_stack.name, host, 3, 3, 0)]
    assert data["engines"] == [{"engine": host, "host": host, "error": None}]

    status = run(["status"], tls_stack.dir, tls_engine)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.splitlines()[0] == f"project {tls_stack.name} on {host}"
    check = run(["check"], tls_stack.dir, tls_engine)
    assert "note: host ports: not checked: remote engine" in check.stdout, check.stdout + check.stderr

    before = {c["Service"]: c["ID"] for c in map(json.loads, tls_stack.compose("ps", "--format", "json").stdout.splitlines())}
    restarted = run(["restart", "vscode"], tls_stack.dir, tls_engine)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "mcp-server" in restarted.stdout  # restarted with its namespace owner
    rows = {r["service"]: r for r in json.loads(run(["status", "--json"], tls_stack.dir, tls_engine).stdout)["services"]}
    assert not any(r["stale"] for r in rows.values()) and rows["mcp-server"]["probe"]["ok"] is True
    assert {s: rows[s]["container_id"][:12] for s in before} == before  # restarted in place, not recreated


def test_a_context_with_tls_material_and_a_wrong_ca(tls_stack, tls_engine, tmp_path):
    certs = Path(tls_engine["DOCKER_CERT_PATH"])
    env = {k: v for k, v in tls_engine.items() if not k.startswith("DOCKER_") or k == "DOCKER_CONFIG"}
    subprocess.run(["docker", "context", "create", "tls-ctx", "--docker",
                    f"host={tls_engine['DOCKER_HOST']},ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},"
                    f"key={certs / 'key.pem'}"], env=env, check=True, capture_output=True, timeout=30)
    data = json.loads(run(["--context", "tls-ctx", "projects", "--json"], tmp_path, env).stdout)
    assert [(p["project"], p["engine"]) for p in data["projects"]] == [(tls_stack.name, "tls-ctx")]

    # Two engines on one list, each row naming its own; an engine that does not answer is named, not fatal.
    subprocess.run(["docker", "context", "create", "shared", "--docker", f"host={os.environ['DOCKER_HOST']}"],
                   env=env, check=True, capture_output=True, timeout=30)
    subprocess.run(["docker", "context", "create", "gone", "--docker", f"host=unix://{tmp_path}/none.sock"],
                   env=env, check=True, capture_output=True, timeout=30)
    both = run(["--context", "shared", "--context", "tls-ctx", "projects", "--json"], tmp_path, env)
    assert both.returncode == 0, both.stderr
    listed = json.loads(both.stdout)
    assert ("tls-ctx", tls_stack.name) in {(p["engine"], p["project"]) for p in listed["projects"]}
    assert {p["engine"] for p in listed["projects"]} <= {"shared", "tls-ctx"}  # the shared engine may hold none now
    assert [(e["engine"], e["error"]) for e in listed["engines"]] == [("shared", None), ("tls-ctx", None)]
    partly = run(["--context", "tls-ctx", "--context", "gone", "projects"], tmp_path, env)
    assert partly.returncode == 1
    assert any(line.startswith(tls_stack.name) and " tls-ctx " in line for line in partly.stdout.splitlines())
    assert partly.stderr.startswith(f"stacktui: engine gone: the Docker engine at unix://{tmp_path}/none.sock")

    other = make_certs(tmp_path / "other")  # a CA the engine never heard of
    wrong = run(["projects"], tmp_path, {**tls_engine, "DOCKER_CERT_PATH": str(other)})
    assert wrong.returncode == 2
    assert f"TLS with the Docker engine at {tls_engine['DOCKER_HOST']} failed" in wrong.stderr


def test_logs_and_events_through_the_sdk(tls_stack, tls_engine):
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve

    engine = Engine.connect(resolve(None, tls_engine))
    try:
        assert not engine.is_local() and engine.socket_path is None
        backend = tls_stack.container(engine, "backend")
        assert any("200" in line or "ok" in line.lower() for line in engine.logs_tail(backend.id, 5))
        seen: list[dict] = []
        stream = engine.events(project=tls_stack.name)
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        subprocess.run(["docker", "restart", "-t", "1", backend.id], env=tls_engine, check=True,
                       capture_output=True, timeout=60)
        until(lambda: any(e.get("Action") == "start" and e.get("id") == backend.id for e in list(seen)),
              timeout=20, what="the start event of backend over TLS")
        stream.close()
    finally:
        engine.close()


async def test_the_app_follows_logs_and_events_over_tls(tls_stack, tls_engine):
    from stacktui.core.compose.discovery import resolve_target
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve
    from stacktui.core.loader import load_project
    from tests.remote_tui import app_follows_a_remote_engine

    target = resolve_target([str(tls_stack.file)], None, None, [], [], cwd=tls_stack.dir)
    engine = Engine.connect(resolve(None, tls_engine))
    try:
        await app_follows_a_remote_engine(load_project(target), engine, target)
    finally:
        engine.close()
