""""Done" means the stack works: on a chain of three (compose/chain: worker joins api joins gateway),
stranded by a raw `docker restart` of the top owner, every fix stacktui gives leaves nothing stale,
a restart that cannot be true says so, and a watcher started on the broken stack heals it.

One chain stack serves the whole module; each test starts from it healthy (reset below) and breaks it
the way the field does.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any, Iterator

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from tests.conftest import CHAIN_PORTS, Stack, make_stack, running_stack
from tests.faults_support import Running
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env

FIX = re.compile(r"\((stacktui restart [^)]+)\)")
DONE = re.compile(r"^done: ", re.M)  # the summary line of a plan that finished


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, demo_image: str) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("chain"), "chain", CHAIN_PORTS)


def stale(stack: Stack, engine) -> dict[str, Any]:
    """What the engine holds: the services living in a dead namespace, judged from the containers."""
    project = load_project(resolve_target([str(stack.file)], None, stack.dir))
    return find_stale(project, engine.project_containers(stack.name))


@pytest.fixture
def healthy_chain(chain: Stack, engine) -> Stack:
    """The shared chain, every service running and none stale (recreated only when a test left it otherwise)."""
    states = {c.service: c.state for c in engine.project_containers(chain.name)}
    if stale(chain, engine) or set(states.values()) != {"running"} or len(states) != 4:
        chain.up()
        chain.compose("up", "-d", "--wait", "--force-recreate", "--wait-timeout", "60")
    until(lambda: not stale(chain, engine), 20, "the chain to be whole")
    return chain


def raw_restart(stack: Stack, engine, service: str) -> None:
    subprocess.run(["docker", "restart", "-t", "1", stack.container(engine, service).id], check=True,
                   capture_output=True, timeout=60)


def printed_fixes(stack: Stack) -> dict[str, str]:
    """service -> the command `check` prints for it, from the readable output a user reads."""
    done = stack.stacktui("check")
    assert done.returncode == 1, done.stdout + done.stderr
    out = {}
    for line in done.stdout.splitlines():
        if "stale-namespace" in line:
            service = line.split("stale-namespace", 1)[1].split()[0].rstrip(":")
            found = FIX.search(line)
            assert found, f"no command in the stale finding: {line}"
            out[service] = found.group(1)
    return out


def stale_in_check_and_status(stack: Stack) -> tuple[list[str], list[str]]:
    check = json.loads(stack.stacktui("check", "--json").stdout)
    status = json.loads(stack.stacktui("status", "--json").stdout)
    return ([f["service"] for f in check["findings"] if f["kind"] == "stale-namespace"],
            [s["service"] for s in status["services"] if s["stale"]])


@pytest.mark.parametrize("hinted", ["api", "worker"])
def test_each_fix_check_prints_run_alone_leaves_nothing_stale(healthy_chain: Stack, engine, hinted: str) -> None:
    stack = healthy_chain
    raw_restart(stack, engine, "gateway")
    fixes = printed_fixes(stack)
    assert set(fixes) == {"api", "worker"}, fixes
    # Both stale services point at the highest stale link: restarting worker alone would rejoin api's dead one.
    assert fixes[hinted] == "stacktui restart api"
    command = fixes[hinted].split()[1:]
    done = stack.stacktui(*command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert stale_in_check_and_status(stack) == ([], [])
    assert stale(stack, engine) == {}


def test_restart_of_a_joiner_under_a_stale_owner_says_it_is_not_done(healthy_chain: Stack, engine) -> None:
    stack = healthy_chain
    raw_restart(stack, engine, "gateway")
    done = stack.stacktui("restart", "worker")
    assert done.returncode != 0, done.stdout
    said = done.stdout + done.stderr
    assert not DONE.search(said)
    assert "stale" in said and "stacktui restart api" in said
    # and the command it names repairs it
    again = stack.stacktui("restart", "api")
    assert again.returncode == 0, again.stdout + again.stderr
    assert stale(stack, engine) == {}


def spawn_watch(stack: Stack, *args: str) -> Running:
    env = cli_env(NO_COLOR="1")
    return Running.start([*STACKTUI, "watch", *args], cwd=stack.dir, env=env)


@pytest.mark.parametrize("output", ["text", "json"])
def test_watch_heal_started_on_a_stale_chain_heals_it_and_says_so(healthy_chain: Stack, engine,
                                                                   output: str) -> None:
    stack = healthy_chain
    raw_restart(stack, engine, "gateway")
    until(lambda: set(stale(stack, engine)) == {"api", "worker"}, 20, "api and worker stale")
    run = spawn_watch(stack, "--heal", *(["--json"] if output == "json" else []))
    try:
        until(lambda: not stale(stack, engine) and "worker" in _done(run, output), 60,
              f"the heal to finish\n{run.stdout}\n{run.stderr}")
    finally:
        if run.proc.poll() is None:
            run.signal(2)
        run.finish(timeout=90)
    said = run.stdout
    assert "heal_failed" not in said and "heal failed" not in said.lower(), said
    assert "backoff" not in said, said
    assert "partially initialized" not in said + run.stderr
    assert {"api", "worker"} <= _done(run, output), said
    assert stale_in_check_and_status(stack) == ([], [])


def _done(run: Running, output: str) -> set[str]:
    """The services the watcher said it healed."""
    out = set()
    for line in run.stdout.splitlines():
        if output == "json":
            if line.startswith("{"):
                event = json.loads(line)
                if event["event"] == "heal_done":
                    out.add(event["service"])
        elif (found := re.search(r" heal_done +[^/ ]+/(\S+) ", line)):
            out.add(found.group(1))
    return out


LOOP = "trap 'exit 0' TERM INT; while true; do sleep 1 & wait $!; done"
SICK_CHAIN = f"""
services:
  top:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/never"]
      interval: 1s
      timeout: 2s
      retries: 1
  mid:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    network_mode: "service:top"
  low:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    network_mode: "service:mid"
"""


def test_heal_unhealthy_of_a_chain_owner_leaves_its_joiners_running(text_stack, engine) -> None:
    stack = text_stack(SICK_CHAIN)
    stack.compose("up", "-d")
    until(lambda: {c.service: c.health for c in engine.project_containers(stack.name)}.get("top") == "unhealthy",
          30, "top unhealthy")
    run = spawn_watch(stack, "--json", "--heal", "--heal-unhealthy", "--unhealthy-checks", "1",
                      "--check-interval", "0.5", "--timeout", "3")
    try:
        def failed_once() -> bool:
            return any(json.loads(line).get("event") == "heal_failed" and json.loads(line).get("service") == "top"
                       for line in run.stdout.splitlines() if line.startswith("{"))

        until(failed_once, 60, f"a failed restart of top\n{run.stdout}\n{run.stderr}")
        # The restart of the unhealthy owner failed (it stays unhealthy); its joiners, stopped with it,
        # run again in its namespace.
        def joiners_back() -> bool:
            states = {c.service: c.state for c in engine.project_containers(stack.name)}
            return states.get("mid") == "running" and states.get("low") == "running" and not stale(stack, engine)

        until(joiners_back, 30, f"mid and low running again\n{run.stdout}")
    finally:
        if run.proc.poll() is None:
            run.signal(2)
        run.finish(timeout=90)


PUBLISHER = f"""
services:
  web:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    ports:
      - "127.0.0.1:${{WEB_PORT}}:80"
"""


def test_restart_blocked_by_a_host_port_fails_at_once_naming_port_and_holder(text_stack, engine) -> None:
    import socket

    stack = text_stack(PUBLISHER, ("WEB_PORT",))
    port = stack.ports["WEB_PORT"]
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = stack.stacktui("restart", "web", "--timeout", "60")
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert f"127.0.0.1:{port}" in said and f"pid {os.getpid()}" in said, said
    assert "not passed within" not in said, said
    assert not DONE.search(said)
    # nothing was started behind the user's back
    assert [c.state for c in engine.project_containers(stack.name) if c.state == "running"] == []


def test_a_rollback_that_put_everything_back_says_so_and_what_it_verified(tmp_path, demo_image, engine) -> None:
    from tests.conftest import DEMO_PORTS

    stack = make_stack(tmp_path, "demo", DEMO_PORTS)
    # mcp-server's probe answers 404 before any change: the stack's state, which a rollback restores as it was.
    text = stack.file.read_text().replace("health: http://vscode:9001/health", "health: http://vscode:9001/missing")
    stack.file.write_text(text)
    try:
        stack.up()
        original = stack.file.read_bytes()
        vscode_before = stack.container(engine, "vscode")
        done = stack.stacktui("layout", "separate", "mcp-server", "--ports", "9001,9002", "--yes", "--timeout", "5")
        said = done.stdout + done.stderr
        assert done.returncode == 1, said
        assert "layout change failed" in done.stderr  # the new layout's gate fails, as it should
        assert "INCOMPLETE" not in said, said
        assert "stacktui: rolled back:" in done.stderr
        assert "verified: compose.yaml byte-identical to before" in done.stderr
        assert "verified: running, in their owners' current namespaces as before: vscode, mcp-server" in done.stderr
        assert "probe of mcp-server failing before the change too" in done.stderr
        assert re.findall(r"within (\d+\.\d+) s", said) == [] or all(
            len(n.split(".")[1]) == 2 for n in re.findall(r"within (\d+\.\d+) s", said)), said
        # what the engine holds: the file byte for byte, mcp-server back in vscode's namespace
        assert stack.file.read_bytes() == original
        vscode, mcp = stack.container(engine, "vscode"), stack.container(engine, "mcp-server")
        assert mcp.state == "running" and mcp.network_mode == f"container:{vscode.id}"
        assert stale(stack, engine) == {}
        assert vscode.name == vscode_before.name

        # history and undo agree: the history lists the change and its rollback; undo has nothing live to
        # revert and says why, naming them, rather than calling the history empty.
        history = stack.stacktui("layout", "history").stdout
        assert "(rolled back: the apply failed)" in history and "rollback of #1" in history
        undo = stack.stacktui("layout", "undo", "--yes")
        assert undo.returncode != 0
        assert "empty" not in undo.stderr, undo.stderr
        assert "#1" in undo.stderr and "rolled back" in undo.stderr, undo.stderr
        assert stack.file.read_bytes() == original
    finally:
        stack.down()


SLOW_FIRST_CHECK = f"""
services:
  app:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 60s
  side:
    image: ${{STACKTUI_DEMO_IMAGE}}
    command: ["sh", "-c", "{LOOP}"]
    network_mode: "service:app"
"""


def test_status_right_after_a_successful_restart_exits_0(text_stack, engine) -> None:
    stack = text_stack(SLOW_FIRST_CHECK)
    stack.compose("up", "-d")
    done = stack.stacktui("restart", "app")
    assert done.returncode == 0, done.stdout + done.stderr
    # Docker's own first check is a minute away: it still says `starting`
    assert stack.container(engine, "app").health == "starting"
    status = stack.stacktui("status")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {r["service"]: r for r in json.loads(stack.stacktui("status", "--json").stdout)["services"]}
    assert rows["app"]["health"] == "healthy" and "run by stacktui" in rows["app"]["health_output"]
    assert not rows["side"]["stale"] and rows["side"]["state"] == "running"


def test_restart_blocked_by_another_projects_container_names_that_container(text_stack, engine) -> None:
    holder = text_stack(PUBLISHER, ("WEB_PORT",))
    holder.compose("up", "-d")
    port = holder.ports["WEB_PORT"]
    stack = text_stack(PUBLISHER)
    (stack.dir / ".env").write_text((stack.dir / ".env").read_text() + f"WEB_PORT={port}\n")
    done = stack.stacktui("restart", "web", "--timeout", "60")
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert f"127.0.0.1:{port}" in said and f"of project {holder.name}" in said, said
    assert "not passed within" not in said and not DONE.search(said), said
    assert [c for c in engine.project_containers(stack.name) if c.state == "running"] == []
