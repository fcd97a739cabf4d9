"""Self-heal (issue 14): `stacktui watch --heal` repairs joiners stranded in a dead namespace, unattended.

Each test runs the real CLI as a process on a real stack, strands a joiner one of the ways
it happens in the field, and checks what a user would: the watcher's JSON lines, and the
stack answering from outside through the owner's published port.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from stacktui.core.lock import project_lock
from tests.conftest import Stack, make_stack
from tests.faults_support import Running, until
from tests.usercli import STACKTUI, cli_env

POLICY = Path(__file__).resolve().parent / "data" / "heal" / "policy"
POLICY_PORTS = ("HEAL_OWNER_PORT", "HEAL_JOINER_PORT")


def spawn_watch(stack: Stack, *args: str, env: dict[str, str] | None = None) -> Running:
    env = cli_env(NO_COLOR="1", **(env or {}))
    return Running.start([*STACKTUI, "watch", "--json", *args], cwd=stack.dir, env=env)


def events(run: Running) -> list[dict[str, Any]]:
    out = []
    for line in list(run.out):
        if line.text.startswith("{"):
            out.append({**json.loads(line.text), "_at": line.at})
    return out


def wait_event(run: Running, event: str, service: str | None = None, timeout: float = 30.0,
               match: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        if run.proc.poll() is not None:
            raise AssertionError(f"watch ended (exit {run.proc.returncode}):\n{run.stdout}\n{run.stderr}")
        return next((e for e in events(run) if e["event"] == event and match(e)
                     and (service is None or e["service"] == service)), None)

    try:
        return until(seen, timeout, f"{event} {service or ''}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}") from None


def stop_watch(run: Running) -> int:
    if run.proc.poll() is None:
        run.signal(signal.SIGTERM)
    return run.finish(timeout=90)


def answers(port: int, path: str = "/health") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def docker(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=60,
                          env=env).stdout.strip()


def not_stale(stack: Stack, engine) -> dict:
    project = load_project(resolve_target([str(stack.file)], cwd=stack.dir))
    return find_stale(project, engine.project_containers(stack.name))


@pytest.fixture
def policy_stack(tmp_path: Path, demo_image: str) -> Iterator[Stack]:
    """tests/data/heal/policy (owner and joiner with restart policies), not started: a test may set it up first."""
    stack = make_stack(tmp_path, str(POLICY), POLICY_PORTS)
    try:
        yield stack
    finally:
        stack.down()


# --- the ways a joiner is stranded -------------------------------------------------------------------

def test_raw_restart_of_the_owner_is_healed_and_mcp_answers_again(demo_stack, engine):
    run = spawn_watch(demo_stack, "--heal")
    try:
        wait_event(run, "watching")
        vscode = demo_stack.container(engine, "vscode")
        docker("restart", "-t", "1", vscode.id)
        stale = wait_event(run, "stale", "mcp-server")
        done = wait_event(run, "heal_done", "mcp-server")
        assert stale["owner"] == "vscode" and "vscode" in stale["reason"]
        assert done["owner"] == "vscode" and done["project"] == demo_stack.name
        assert isinstance(done["elapsed_s"], float) and done["elapsed_s"] > 0
        assert answers(demo_stack.ports["DEMO_MCP_HTTP_PORT"])
        assert demo_stack.container(engine, "vscode").id == vscode.id, "the owner kept its id"
        assert not_stale(demo_stack, engine) == {}
        started = [e for e in events(run) if e["event"] == "heal_started"]
        assert [e["service"] for e in started] == ["mcp-server"], "only the stranded joiner; backend is not"
        assert started[0]["reason"].startswith("restart mcp-server")
    finally:
        assert stop_watch(run) == 0


def test_owner_killed_and_brought_back_by_its_restart_policy_is_healed(policy_stack, engine):
    policy_stack.up()
    run = spawn_watch(policy_stack, "--heal")
    try:
        wait_event(run, "watching")
        owner = policy_stack.container(engine, "owner")
        os.kill(owner.pid, signal.SIGKILL)  # the owner's PID 1, from the host
        done = wait_event(run, "heal_done", "joiner")
        assert done["owner"] == "owner"
        again = policy_stack.container(engine, "owner")
        assert again.id == owner.id and again.restart_count > owner.restart_count, "the engine restarted it"
        assert answers(policy_stack.ports["HEAL_JOINER_PORT"])
        assert not_stale(policy_stack, engine) == {}
    finally:
        assert stop_watch(run) == 0


def test_owner_recreated_by_someone_else_gets_its_joiner_recreated(demo_stack, engine):
    run = spawn_watch(demo_stack, "--heal")
    try:
        wait_event(run, "watching")
        old_mcp = demo_stack.container(engine, "mcp-server")
        demo_stack.compose("up", "-d", "--no-deps", "--force-recreate", "vscode")
        started = wait_event(run, "heal_started", "mcp-server")
        wait_event(run, "heal_done", "mcp-server", timeout=60)
        assert started["reason"].startswith("recreate mcp-server")
        vscode, mcp = demo_stack.container(engine, "vscode"), demo_stack.container(engine, "mcp-server")
        assert mcp.id != old_mcp.id and mcp.network_mode == f"container:{vscode.id}"
        assert answers(demo_stack.ports["DEMO_MCP_HTTP_PORT"])
    finally:
        assert stop_watch(run) == 0


def test_a_transitive_chain_is_healed_in_order(chain_stack, engine):
    run = spawn_watch(chain_stack, "--heal")
    try:
        wait_event(run, "watching")
        docker("restart", "-t", "1", chain_stack.container(engine, "gateway").id)
        wait_event(run, "heal_done", "worker")
        started = [e["service"] for e in events(run) if e["event"] == "heal_started"]
        assert started == ["api", "worker"]
        stale = {e["service"]: e["owner"] for e in events(run) if e["event"] == "stale"}
        assert stale == {"api": "gateway", "worker": "gateway"}
        assert answers(chain_stack.ports["CHAIN_WORKER_PORT"]) and answers(chain_stack.ports["CHAIN_API_PORT"])
        assert not_stale(chain_stack, engine) == {}
    finally:
        assert stop_watch(run) == 0


# --- safe when nobody watches ---------------------------------------------------------------------

def test_a_joiner_stopped_by_hand_stays_stopped(chain_stack, engine):
    run = spawn_watch(chain_stack, "--heal")
    try:
        wait_event(run, "watching")
        docker("stop", "-t", "1", chain_stack.container(engine, "worker").id)
        docker("restart", "-t", "1", chain_stack.container(engine, "gateway").id)
        wait_event(run, "heal_done", "api")
        # The look after the heal (its own events ask for one) has nothing left to do.
        assert [e["service"] for e in events(run) if e["event"] == "heal_started"] == ["api"]
        assert chain_stack.container(engine, "worker").state == "exited"
        assert not answers(chain_stack.ports["CHAIN_WORKER_PORT"])
        assert answers(chain_stack.ports["CHAIN_API_PORT"])
    finally:
        assert stop_watch(run) == 0
    assert "worker" not in {e["service"] for e in events(run)}, "nothing said about or done to the stopped worker"


def test_a_plan_holding_the_lock_delays_the_heal_until_it_is_done(demo_stack, engine):
    run = spawn_watch(demo_stack, "--heal")
    try:
        wait_event(run, "watching")
        # wait: the watcher may hold the lock a moment itself, as it checks the stack it just met.
        with project_lock(demo_stack.name, "a user's restart (test)", wait=20):
            docker("restart", "-t", "1", demo_stack.container(engine, "vscode").id)
            waiting = wait_event(run, "waiting")
            assert "a user's restart (test)" in waiting["reason"]
            time.sleep(1.0)  # the owner is back: only the lock holds the heal
            assert not [e for e in events(run) if e["event"] == "heal_started"]
            released = time.monotonic()
        done = wait_event(run, "heal_done", "mcp-server")
        assert done["_at"] > released
        assert answers(demo_stack.ports["DEMO_MCP_HTTP_PORT"])
    finally:
        assert stop_watch(run) == 0


def test_a_crash_looping_owner_gets_backoff_and_a_bounded_number_of_heals(policy_stack, engine):
    from stacktui.core.heal.backoff import MAX_ATTEMPTS

    policy_stack.up()
    # The backoff's first wait a tenth of the default: the same doubling and cap on attempts, sooner.
    run = spawn_watch(policy_stack, "--heal", "--backoff", "0.1")
    try:
        wait_event(run, "watching")
        (policy_stack.dir / "scripts" / "crash").write_text("1\n")
        docker("restart", "-t", "1", policy_stack.container(engine, "owner").id)
        first = wait_event(run, "backoff", timeout=60)
        assert first["owner"] == "owner" and "keeps dying" in first["reason"]
        assert any("crashing on purpose" in line for line in first["last_logs"]), first
        gave_up = wait_event(run, "backoff", timeout=120, match=lambda e: "gave up" in e["reason"])
        heals = [e for e in events(run) if e["event"] == "heal_started"]
        assert 1 <= len(heals) <= MAX_ATTEMPTS, heals
        delays = [float(e["reason"].split(" waits ")[-1].split(" s ")[0]) for e in events(run)
                  if e["event"] == "backoff" and "next heal" in e["reason"]]
        assert delays and all(b > a for a, b in zip(delays, delays[1:])), f"doubling waits: {delays}"
        assert f"after {MAX_ATTEMPTS} heal attempts" in gave_up["reason"]
    finally:
        (policy_stack.dir / "scripts" / "crash").unlink(missing_ok=True)
        assert stop_watch(run) == 0


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_probe_url_naming_another_host_is_not_requested(policy_stack, engine):
    # A listener on another loopback address stands for "another host": it must see nothing.
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.2", port), _Recorder)
    _Recorder.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.2:{port}/health"
    text = policy_stack.file.read_text()
    policy_stack.file.write_text(text.replace("health: http://owner:7202/health", f"health: {url}"))
    try:
        policy_stack.up()
        run = spawn_watch(policy_stack, "--heal")
        try:
            finding = wait_event(run, "finding", "joiner")
            assert url in finding["reason"] and "does not request it" in finding["reason"]
            wait_event(run, "watching")
            docker("restart", "-t", "1", policy_stack.container(engine, "owner").id)
            wait_event(run, "heal_done", "joiner")
            assert answers(policy_stack.ports["HEAL_JOINER_PORT"])
        finally:
            assert stop_watch(run) == 0
        assert len([e for e in events(run) if e["event"] == "finding"]) == 1, "reported once"
        assert _Recorder.hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_sigterm_mid_heal_finishes_the_step_and_exits_0(policy_stack, engine):
    policy_stack.up()
    (policy_stack.dir / "scripts" / "joiner-ready-after").write_text("3\n")
    run = spawn_watch(policy_stack, "--heal")
    try:
        wait_event(run, "watching")
        docker("restart", "-t", "1", policy_stack.container(engine, "owner").id)
        wait_event(run, "heal_started", "joiner")
        run.signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = run.finish(timeout=60)
    finally:
        run.kill()
    assert code == 0, run.stdout + run.stderr
    assert "SIGTERM: finishing the current step" in run.stderr
    done = [e for e in events(run) if e["event"] == "heal_done" and e["service"] == "joiner"]
    assert done and done[0]["_at"] > signalled, "the step under way finished after the signal"
    joiner = policy_stack.container(engine, "joiner")
    assert joiner.state == "running" and joiner.health == "healthy" or answers(policy_stack.ports["HEAL_JOINER_PORT"])
    assert not_stale(policy_stack, engine) == {}
    assert "Traceback" not in run.stderr


# --- --heal-unhealthy -------------------------------------------------------------------------------

def test_a_service_unhealthy_for_n_checks_is_reported_and_restarted_only_with_heal_unhealthy(policy_stack, engine):
    policy_stack.up()
    joiner, owner = policy_stack.container(engine, "joiner"), policy_stack.container(engine, "owner")
    docker("exec", joiner.id, "rm", "-f", "/tmp/ready")  # its healthcheck (`test -f /tmp/ready`) fails from now on
    run = spawn_watch(policy_stack, "--heal", "--unhealthy-checks", "2", "--check-interval", "0.5")
    try:
        said = wait_event(run, "unhealthy", "joiner", timeout=30)
        assert "unhealthy at 2 checks in a row" in said["reason"] and "healthcheck failing" in said["reason"]
        assert "reported only" in said["reason"]
    finally:
        assert stop_watch(run) == 0
    assert not [e for e in events(run) if e["event"].startswith("heal_")], "reported, not acted on"
    left = policy_stack.container(engine, "joiner")
    assert left.started_at == joiner.started_at and left.health == "unhealthy"

    run = spawn_watch(policy_stack, "--heal-unhealthy", "--unhealthy-checks", "2", "--check-interval", "0.5")
    try:
        said = wait_event(run, "unhealthy", "joiner", timeout=30)
        assert "restarting it in order" in said["reason"]
        started = wait_event(run, "heal_started", "joiner")
        assert started["reason"].startswith("restart joiner") and "unhealthy at 2 checks" in started["reason"]
        done = wait_event(run, "heal_done", "joiner", timeout=60)
        assert done["owner"] is None and done["elapsed_s"] > 0
    finally:
        assert stop_watch(run) == 0
    assert [e["service"] for e in events(run) if e["event"] == "heal_started"] == ["joiner"], "one action"
    again = policy_stack.container(engine, "joiner")
    assert again.id == joiner.id and again.started_at > joiner.started_at, "restarted in place"
    until(lambda: policy_stack.container(engine, "joiner").health == "healthy", 30, "joiner healthy again")
    assert policy_stack.container(engine, "owner").started_at == owner.started_at, "its owner left alone"
    assert answers(policy_stack.ports["HEAL_JOINER_PORT"])


# --- a compose file stacktui refuses ----------------------------------------------------------------

def test_a_refused_compose_file_is_reported_and_picked_up_again_once_fixed(tmp_path, docker_host):
    from tests.test_bounds import BOMB

    folder = tmp_path / "refused"
    folder.mkdir()
    file = folder / "compose.yaml"
    good = "name: {}\nservices:\n  app:\n    image: busybox\n".format(f"r{os.getpid()}")
    file.write_text(BOMB)
    env = cli_env(NO_COLOR="1")
    run = Running.start([*STACKTUI, "-f", str(file), "watch", "--json", "--heal"], cwd=folder,
                        env=env)
    try:
        said = wait_event(run, "refused")
        assert said["file"] == str(file) and said["line"] == 7, said
        assert "YAML aliases expand beyond the limit of 1,000,000 nodes" in said["reason"]
        assert "nothing is done to this project until the file reads again" in said["reason"]
        assert said["project"] == "refused"
        file.write_text(good)
        watching = wait_event(run, "watching")  # the same process, picking the file up
        assert watching["project"] == f"r{os.getpid()}"

        file.write_text(BOMB)  # refused while watched: said again, and the healer stops acting
        wait_event(run, "refused", match=lambda e: e["_at"] > watching["_at"])
        file.write_text(good)
        back = wait_event(run, "watching", match=lambda e: "read again" in e["reason"])
        assert "healing resumes" in back["reason"]
    finally:
        assert stop_watch(run) == 0
    assert [e["event"] for e in events(run)] == ["refused", "watching", "refused", "watching"]
    assert "Traceback" not in run.stderr
