"""Ordered, health-gated restarts on the real engine with the real Compose CLI, through the real CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import httpx

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.lock import project_lock
from stacktui.core.loader import load_project
from stacktui.core.health.status import collect
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env, cli_path

ROOT = Path(__file__).resolve().parent.parent


def cli(stack, *args: str, timeout: float = 120, **env: str):
    done = stack.stacktui(*args, timeout=timeout, **env)
    return done


# Where a user's environment sends web traffic: nothing listens there, so a probe it carried would fail.
PROXY = {"HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"}


def status(stack) -> dict[str, dict]:
    """What `stacktui status --json` prints, by service."""
    done = cli(stack, "status", "--json")
    assert done.returncode in (0, 1), done.stderr
    return {r["service"]: r for r in json.loads(done.stdout)["services"]}


def status_here(stack, engine) -> dict[str, dict]:
    """The same rows computed in this process (saves a CLI start where the CLI is not what is tested)."""
    project = load_project(resolve_target(files=[stack.file], cwd=stack.dir))
    return {r.service: r.to_json() for r in collect(project, engine.project_containers(project.name))}


class Events:
    """The project's container events, recorded live from before the action on.

    The engine answers `since` from a small in-memory ring (256 events), which
    other stacks' healthchecks on a shared engine overwrite within seconds; a
    live subscription misses nothing.
    """

    def __init__(self, engine, project: str, actions: tuple[str, ...] = ("die", "start")) -> None:
        self.actions = actions
        self.seen: list[tuple[str, str]] = []
        self.stream = engine.events(project)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for ev in self.stream:
                if ev.get("Action") in self.actions:
                    self.seen.append((ev["Action"], ev["Actor"]["Attributes"].get("com.docker.compose.service", "?")))
        except Exception:  # closing the stream from the test thread ends the read
            pass

    def stop(self, expect: int, timeout: float = 10.0) -> list[tuple[str, str]]:
        """Wait for `expect` events (they may trail the CLI's exit by a moment), then unsubscribe."""
        try:
            until(lambda: len(self.seen) >= expect, timeout, f"{expect} events")
        except AssertionError:
            pass  # the caller compares what came with what it expected, and says so
        finally:
            self.stream.close()
            self.thread.join(5)
        return list(self.seen)


def logs_since(engine, container_id: str, since: datetime) -> str:
    return engine.api.logs(container_id, since=since, stdout=True, stderr=True).decode("utf-8", "replace")


def mcp_answers(stack) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{stack.ports['DEMO_MCP_HTTP_PORT']}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_raw_restart_strands_mcp_and_stacktui_restart_brings_it_back(module_demo_stack, engine):
    stack = module_demo_stack
    vscode = stack.container(engine, "vscode")
    mcp_before = stack.container(engine, "mcp-server")
    engine.restart(vscode.id, timeout=10)  # what `docker restart` does: mcp-server is left behind

    rows = status(stack)
    assert rows["mcp-server"]["stale"] is True and rows["mcp-server"]["health"] == "stale"
    assert "vscode" in rows["mcp-server"]["stale_reason"]
    assert rows["vscode"]["stale"] is False and rows["backend"]["stale"] is False
    assert not mcp_answers(stack)  # its own healthcheck still passes, but 9001 on vscode answers nothing
    assert stack.container(engine, "mcp-server").health == "healthy"

    dry = cli(stack, "restart", "vscode", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"steps": [
        {"service": "vscode", "action": "restart", "waits_for": ["running", "healthy"]},
        {"service": "mcp-server", "action": "restart",
         "waits_for": ["running", "healthy", "probe http://vscode:9001/health"]},
    ]}

    before = datetime.now(timezone.utc)
    # A proxy set for the user's web traffic is not asked to carry the probe of the stack's own service.
    done = cli(stack, "restart", "vscode", **PROXY)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # Each step and its gates, as they happen, in order.
    marks = ["[1/2] restart vscode", "[1/2]   ok running", "[1/2]   ok healthy", "[1/2] done",
             "[2/2] restart mcp-server", "[2/2]   ok running", "[2/2]   ok healthy",
             "[2/2]   ok probe http://vscode:9001/health", "[2/2] done", "done: 2 step(s)"]
    at = [next(i for i, ln in enumerate(lines) if ln.startswith(m)) for m in marks]
    assert at == sorted(at), done.stdout

    vscode_after = stack.container(engine, "vscode")
    mcp_after = stack.container(engine, "mcp-server")
    assert vscode_after.id == vscode.id and mcp_after.id == mcp_before.id  # restarted in place
    assert before < vscode_after.started_at < mcp_after.started_at  # the order, by the engine's clock
    assert mcp_after.network_mode == f"container:{vscode.id}"
    rows = status_here(stack, engine)
    assert not any(r["stale"] for r in rows.values()), rows
    # stacktui's gate ran the healthchecks at once; Docker's own first run comes one interval (2 s) later.
    def both_healthy() -> dict | None:
        now = status_here(stack, engine)
        return now if now["vscode"]["health"] == now["mcp-server"]["health"] == "healthy" else None

    assert until(both_healthy, timeout=15), status_here(stack, engine)
    assert mcp_answers(stack)
    backend = stack.container(engine, "backend")
    assert until(lambda: "MCP reachable at http://vscode:9001/health" in logs_since(engine, backend.id,
                                                                                      mcp_after.started_at))


def test_two_restarts_started_together_do_not_interleave(module_demo_stack, engine):
    stack = module_demo_stack
    recorder = Events(engine, stack.name)
    env = cli_env(NO_COLOR="1")
    # The test holds the project until both have started and wait, so they surely overlap; then both race.
    with project_lock(stack.name, "the test, until both restarts wait"):
        procs = [subprocess.Popen([*STACKTUI, "restart", "vscode"], cwd=stack.dir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        heads = []
        for p in procs:
            assert p.stdout is not None
            lines = []
            for line in p.stdout:
                lines.append(line)
                if line.startswith("waiting: project"):
                    break
            heads.append("".join(lines))
    outs = [(head + rest, err) for head, (rest, err) in zip(heads, (p.communicate(timeout=120) for p in procs))]
    seen = recorder.stop(expect=8)
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("busy: the test, until both restarts wait" in out for out, _ in outs), outs
    assert len(seen) == 8, seen
    for plan in (seen[:4], seen[4:]):
        # vscode and mcp-server stop together, then vscode starts before mcp-server; the second plan after.
        assert sorted(plan[:2]) == [("die", "mcp-server"), ("die", "vscode")], seen
        assert plan[2:] == [("start", "vscode"), ("start", "mcp-server")], seen
    assert mcp_answers(stack)


def test_a_removed_owner_is_recreated_and_its_joiner_too(module_demo_stack, engine):
    """No container for vscode: Compose creates it; mcp-server cannot start in place (the old id is gone)."""
    stack = module_demo_stack
    old_vscode, old_mcp = stack.container(engine, "vscode"), stack.container(engine, "mcp-server")
    engine.api.remove_container(old_vscode.id, force=True)

    done = cli(stack, "restart", "vscode")
    assert done.returncode == 0, done.stdout + done.stderr
    # The printed plan says so before anything runs, and why.
    assert "  1. recreate vscode, then wait for running, healthy  [recreate: vscode has no container]" in done.stdout
    assert "  2. recreate mcp-server, then wait for" in done.stdout
    assert "[recreate: vscode gets a new container first]" in done.stdout
    vscode, mcp = stack.container(engine, "vscode"), stack.container(engine, "mcp-server")
    assert vscode.id != old_vscode.id and mcp.id != old_mcp.id
    assert mcp.network_mode == f"container:{vscode.id}" and vscode.started_at < mcp.started_at
    assert mcp_answers(stack)
    assert not any(r["stale"] for r in status_here(stack, engine).values())


def test_chain_stale_is_transitive_and_restart_orders_a_b_c(chain_stack, engine):
    stack = chain_stack
    gateway = stack.container(engine, "gateway")
    engine.restart(gateway.id, timeout=10)
    rows = status_here(stack, engine)
    assert rows["api"]["stale"] and rows["worker"]["stale"] and not rows["client"]["stale"]
    # On this local engine the kernel's namespace inodes are compared, not only clocks.
    assert rows["api"]["stale_reason"].startswith("its network namespace net:["), rows["api"]
    # worker's own owner (api) never restarted: it is stranded through api.
    assert rows["worker"]["stale_reason"].startswith("joined api, which is itself stale")

    recorder = Events(engine, stack.name, ("start",))
    done = cli(stack, "restart", "gateway")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [svc for _action, svc in recorder.stop(expect=3)] == ["gateway", "api", "worker"]
    times = [stack.container(engine, s).started_at for s in ("gateway", "api", "worker")]
    assert times == sorted(times)
    # Docker's own health verdict trails stacktui's gate by up to one interval.
    rows = until(lambda: (r := status_here(stack, engine)) and all(
        r[s]["health"] == "healthy" and not r[s]["stale"] for s in ("gateway", "api", "worker")) and r)
    assert rows, status_here(stack, engine)
    worker_port = stack.ports["CHAIN_WORKER_PORT"]
    assert httpx.get(f"http://127.0.0.1:{worker_port}/health", timeout=2).json()["service"] == "worker"

    # SIGINT after the first step began: that step finishes, the rest are reported as not run.
    env = cli_env(NO_COLOR="1")
    proc = subprocess.Popen([*STACKTUI, "restart", "gateway"], cwd=stack.dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen_lines = []
    for line in proc.stdout:
        seen_lines.append(line)
        if line.startswith("[1/3] restart gateway"):
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    out = "".join(seen_lines) + rest
    assert proc.returncode == 1, out + err
    assert "[1/3] done" in out and "[2/3]" not in out
    assert "stopped: cancelled before step 2 (api)" in out
    assert "not run: api, worker" in out
    assert "left stopped" in out and stack.container(engine, "api").state == "exited"
    assert stack.container(engine, "gateway").state == "running"


def test_attach_by_name_reads_the_running_demo_from_its_labels(module_demo_stack, tmp_path):
    """`stacktui -p NAME status --json` in a folder without compose files, the project's own files gone
    from where its labels say: read-only, from the labels."""
    empty = tmp_path / "nowhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.update({"NO_COLOR": "1", "PYTHONPATH": cli_path()})
    hidden = module_demo_stack.file.with_name("hidden.yaml")
    module_demo_stack.file.rename(hidden)
    try:
        done = subprocess.run([*STACKTUI, "-p", module_demo_stack.name, "status", "--json"],
                              cwd=empty, capture_output=True, text=True, timeout=60, env=env)
    finally:
        hidden.rename(module_demo_stack.file)
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(done.stdout)
    rows = {r["service"]: r for r in data["services"]}
    assert data["project"] == module_demo_stack.name and data["read_only"] is True
    assert "is not readable here" in data["read_only_reason"]
    assert list(rows) == ["vscode", "backend", "mcp-server"]  # no file to say the order: dependencies first
    assert rows["mcp-server"]["namespace_owner"] == "vscode" and rows["backend"]["namespace_owner"] is None
    assert rows["vscode"]["health"] == rows["mcp-server"]["health"] == "healthy"
    assert not any(r["stale"] for r in rows.values())
