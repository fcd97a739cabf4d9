"""The scenario matrix (docs/guarantees.md): shapes of shared namespaces x the state stacktui finds them in
x what the user does, on the real engine. Each test asserts what the user sees (exit code, the fix named)
and what the engine then holds (every service running in its owner's current namespaces).

One stack per shape serves the whole module; `whole` puts it back cheaply (recreated only when a test left
it stale or stopped) before each cell.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from tests.conftest import ROOT, Stack
from tests.faults_support import Running
from tests.waiting import until

# One stack per shape (`stacks`): each shape's cells are one xdist group, so the shapes run side by side.
GROUP_BY = "shape"

FIX = re.compile(r"\((stacktui restart [^)]+)\)")
DONE = re.compile(r"^done: ", re.M)  # the summary line of a plan that finished


def serve(port: int) -> str:
    """A small web server on `port` that stops at once on SIGTERM, with /health answering 200."""
    return (f'["sh", "-c", "mkdir -p /www && echo ok > /www/health && trap \'exit 0\' TERM INT; '
            f'httpd -f -p {port} -h /www & wait"]')


def check(port: int) -> str:
    return (f'{{test: ["CMD", "timeout", "2", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:{port}/health"], '
            'interval: 1s, timeout: 3s, retries: 3}')


def service(name: str, port: int, *, joins: str | None = None, ipc: str | None = None,
            publish: tuple[tuple[str, int], ...] = (), probe: str | None = None) -> str:
    lines = [f"  {name}:", "    image: ${STACKTUI_DEMO_IMAGE}", f"    command: {serve(port)}",
             f"    healthcheck: {check(port)}"]
    if joins:
        lines.append(f'    network_mode: "service:{joins}"')
    if ipc:
        lines.append(f'    ipc: "{ipc}"')
    if publish:
        lines.append("    ports:")
        lines += [f'      - "127.0.0.1:${{{var}}}:{target}"' for var, target in publish]
    lines.append(f"    x-stacktui: {{listens: [{port}]" + (f', health: "{probe}"' if probe else "") + "}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Shape:
    name: str
    text: str
    ports: tuple[str, ...]
    owner: str  # the top owner, the one restarted raw
    joiners: tuple[str, ...]  # every service in a namespace of the owner, nearest first
    fix_root: str  # where the fix of a raw restart of the owner starts

    @property
    def services(self) -> tuple[str, ...]:
        return (self.owner, *self.joiners)


SHAPES = {
    "pair": Shape("pair", "services:\n" + "\n".join([
        service("a", 7001, publish=(("A_PORT", 7001), ("B_PORT", 7002))),
        service("b", 7002, joins="a", probe="http://a:7002/health")]), ("A_PORT", "B_PORT"), "a", ("b",), "b"),
    "chain": Shape("chain", "services:\n" + "\n".join([
        service("a", 7001, publish=(("A_PORT", 7001), ("B_PORT", 7002), ("C_PORT", 7003))),
        service("b", 7002, joins="a", probe="http://a:7002/health"),
        service("c", 7003, joins="b", probe="http://a:7003/health")]),
        ("A_PORT", "B_PORT", "C_PORT"), "a", ("b", "c"), "b"),
    "fan": Shape("fan", "services:\n" + "\n".join([
        service("a", 7001, publish=(("A_PORT", 7001), ("B_PORT", 7002), ("C_PORT", 7003))),
        service("b", 7002, joins="a", probe="http://a:7002/health"),
        service("c", 7003, joins="a", probe="http://a:7003/health")]),
        ("A_PORT", "B_PORT", "C_PORT"), "a", ("b", "c"), "b"),
    "ipc": Shape("ipc", "services:\n" + "\n".join([
        service("a", 7001, ipc="shareable", publish=(("A_PORT", 7001),)),
        service("b", 7002, ipc="service:a", publish=(("B_PORT", 7002),))]), ("A_PORT", "B_PORT"), "a", ("b",), "b"),
    "silent": Shape("silent", "services:\n" + "\n".join([
        service("a", 7001),
        service("b", 7002, joins="a")]), (), "a", ("b",), "b"),
}


@pytest.fixture(scope="module")
def stacks(text_stack: Callable[..., Stack]) -> dict[str, Stack]:
    made: dict[str, Stack] = {}

    def get(shape: str) -> Stack:
        if shape not in made:
            made[shape] = text_stack(SHAPES[shape].text, SHAPES[shape].ports)
            made[shape].up()
        return made[shape]

    return get  # type: ignore[return-value]


def stale(stack: Stack, engine) -> dict[str, Any]:
    project = load_project(resolve_target([str(stack.file)], None, stack.dir))
    return find_stale(project, engine.project_containers(stack.name))


def states(stack: Stack, engine) -> dict[str, str]:
    return {c.service: c.state for c in engine.project_containers(stack.name)}


def whole(stacks, engine, shape: str) -> Stack:
    """The shape's stack, healthy: every service running, none stale."""
    stack = stacks(shape)
    if stale(stack, engine) or set(states(stack, engine).values()) != {"running"}:
        stack.compose("up", "-d", "--wait", "--force-recreate", "--wait-timeout", "60")
    return stack


def raw_restart(stack: Stack, engine, service: str) -> None:
    subprocess.run(["docker", "restart", "-t", "1", stack.container(engine, service).id], check=True,
                   capture_output=True, timeout=60)


def stranded(stacks, engine, s: Shape) -> Stack:
    """The shape's stack after a raw `docker restart` of its owner: every joiner stale."""
    stack = whole(stacks, engine, s.name)
    raw_restart(stack, engine, s.owner)
    until(lambda: set(stale(stack, engine)) == set(s.joiners), 20, "the joiners stale")
    return stack


def nothing_stale_seen(stack: Stack) -> bool:
    check = json.loads(stack.stacktui("check", "--json").stdout)
    status = json.loads(stack.stacktui("status", "--json").stdout)
    return (not [f for f in check["findings"] if f["kind"] == "stale-namespace"]
            and not [s for s in status["services"] if s["stale"]])


# --- state: owner restarted raw (its joiners stale) ----------------------------------------------------

@pytest.mark.parametrize("shape", list(SHAPES))
def test_stale_every_printed_fix_leaves_nothing_stale(stacks, engine, shape: str) -> None:
    s = SHAPES[shape]
    stack = stranded(stacks, engine, s)
    done = stack.stacktui("check")
    assert done.returncode == 1
    commands = list(dict.fromkeys(m.group(1) for m in FIX.finditer(done.stdout)))
    assert commands, done.stdout
    # Where stale joiners hang off each other, every hint names the highest stale link.
    if shape == "chain":
        assert commands == [f"stacktui restart {s.fix_root}"], done.stdout
    for command in commands:
        ran = stack.stacktui(*command.split()[1:])
        assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stale(stack, engine) == {}
    assert nothing_stale_seen(stack)


@pytest.mark.parametrize("shape,target", [(n, t) for n, s in SHAPES.items() for t in s.services])
def test_stale_restart_of_each_service_is_done_only_when_nothing_it_touched_is_stale(stacks, engine, shape: str,
                                                                                      target: str) -> None:
    s = SHAPES[shape]
    stack = stranded(stacks, engine, s)
    done = stack.stacktui("restart", target)
    said = done.stdout + done.stderr
    holds = stale(stack, engine)
    if done.returncode == 0:
        # done: what it restarted runs in its owners' current namespaces
        assert DONE.search(said) and target not in holds, said
        touched = {target, *(j for j in s.joiners if s.services.index(j) > s.services.index(target))}
        if shape != "fan":
            assert not touched & set(holds), said
    else:
        # not done: says so, and names the restart that repairs it
        assert not DONE.search(said) and "stale" in said and f"stacktui restart {s.fix_root}" in said, said
        assert shape == "chain" and target == "c"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_stale_watch_heal_started_now_heals_and_says_so(stacks, engine, shape: str) -> None:
    s = SHAPES[shape]
    stack = stranded(stacks, engine, s)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    run = Running.start([sys.executable, "-m", "stacktui", "watch", "--heal", "--json"], cwd=stack.dir, env=env)
    try:
        def healed() -> bool:
            said = [json.loads(ln) for ln in run.stdout.splitlines() if ln.startswith("{")]
            return (not stale(stack, engine)
                    and set(s.joiners) <= {e["service"] for e in said if e["event"] == "heal_done"})

        until(healed, 60, f"the heal\n{run.stdout}\n{run.stderr}")
    finally:
        if run.proc.poll() is None:
            run.signal(2)
        run.finish(timeout=90)
    events = [json.loads(ln)["event"] for ln in run.stdout.splitlines() if ln.startswith("{")]
    assert "heal_failed" not in events and "backoff" not in events, run.stdout
    assert set(states(stack, engine).values()) == {"running"}


# --- state: healthy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,target", [(n, t) for n, s in SHAPES.items() for t in s.services])
def test_healthy_restart_of_each_service_then_status_exits_0(stacks, engine, shape: str, target: str) -> None:
    stack = whole(stacks, engine, shape)
    done = stack.stacktui("restart", target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified:" in done.stdout
    status = stack.stacktui("status")
    assert status.returncode == 0, status.stdout
    assert stale(stack, engine) == {} and set(states(stack, engine).values()) == {"running"}


# --- state: a joiner stopped by hand ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", list(SHAPES))
def test_stopped_joiner_is_shown_down_not_stale_and_its_restart_brings_it_back(stacks, engine, shape: str) -> None:
    s = SHAPES[shape]
    stack = whole(stacks, engine, shape)
    joiner = s.joiners[-1]
    subprocess.run(["docker", "stop", "-t", "1", stack.container(engine, joiner).id], check=True,
                   capture_output=True, timeout=60)
    status = stack.stacktui("status", "--json")
    assert status.returncode == 1
    row = next(r for r in json.loads(status.stdout)["services"] if r["service"] == joiner)
    assert row["health"] == "down" and not row["stale"]
    check = json.loads(stack.stacktui("check", "--json").stdout)
    assert not [f for f in check["findings"] if f["kind"] == "stale-namespace"]
    done = stack.stacktui("restart", joiner)
    assert done.returncode == 0, done.stdout + done.stderr
    assert states(stack, engine)[joiner] == "running" and stale(stack, engine) == {}


# --- state: a service whose gate never passes ----------------------------------------------------------

NEVER = SHAPES["pair"].text.replace('health: "http://a:7002/health"', 'health: "http://a:7002/missing"')


def test_a_gate_that_never_passes_fails_the_restart_naming_the_gate(text_stack, engine) -> None:
    stack = text_stack(NEVER, ("A_PORT", "B_PORT"))
    stack.up()
    done = stack.stacktui("restart", "a", "--timeout", "3")
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert not DONE.search(said)
    assert "probe http://a:7002/missing gate not passed within 3.00 s" in said and "HTTP 404" in said, said
    # the engine holds both running, b in a's current namespace: only the probe is wrong
    assert set(states(stack, engine).values()) == {"running"} and stale(stack, engine) == {}
