"""The scenario matrix (docs/guarantees.md): shapes of shared namespaces x the state stacktui finds them in
x what the user does, on the real engine. Each test asserts what the user sees (exit code, the fix named)
and what the engine then holds (every service running in its owner's current namespaces).

One stack per shape serves the whole module; `whole` puts it back cheaply (recreated only when a test left
it stale or stopped, or its file in another layout) before each cell.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from tests.conftest import Stack, free_port
from tests.faults_support import Running
from tests.waiting import on_screen, until
from tests.usercli import STACKTUI, cli_env

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
            'interval: 2s, timeout: 3s, retries: 3}')


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
    """The shape's stack, healthy: every service running, none stale, its file the shape's text."""
    stack = stacks(shape)
    if stack.file.read_text() != SHAPES[shape].text:  # a layout test left another layout: Compose recreates it
        stack.file.write_text(SHAPES[shape].text)
        stack.compose("up", "-d", "--wait", "--wait-timeout", "60")
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
    env = cli_env(NO_COLOR="1")
    run = Running.start([*STACKTUI, "watch", "--heal", "--json"], cwd=stack.dir, env=env)
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
    whole(stacks, engine, shape)  # the shape's own text again, for the next test
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


# --- healthy: layout changes, CLI and TUI, on the fan, the ipc-only share and the silent owner -------------
# (the pair and the chain: test_layout_apply.py, test_ui_acceptance.py, test_layout_listeners.py)

def joins(stack: Stack, engine, service: str) -> dict[str, str]:
    """Whose current container `service` joined, per namespace ('gone' for a container no longer there)."""
    names = {c.id: c.service for c in engine.project_containers(stack.name)}
    mine = stack.container(engine, service)
    return {kind: names.get(owner, "gone") for kind in ("network", "ipc") if (owner := mine.joined(kind))}


def works(stack: Stack, engine) -> None:
    """What `status` says (its rows, read in-process): every service well, none stale."""
    from stacktui.core.ops.status import all_well, service_statuses

    rows = service_statuses(load_project(resolve_target([str(stack.file)], None, stack.dir)), engine)
    assert all_well(rows) and not [r.service for r in rows if r.stale], [(r.service, r.health, r.stale_reason)
                                                                        for r in rows]
    assert stale(stack, engine) == {} and set(states(stack, engine).values()) == {"running"}


def applied(stack: Stack, engine, *args: str) -> str:
    """A layout change through the CLI, which says done only after its verdict; the stack then works."""
    done = stack.stacktui("layout", *args, "--yes")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert re.search(r"^  done: every check passed; verified: .* running, in their owners' current namespaces$",
                     done.stdout, re.M), said
    assert len(DONE.findall(done.stdout)) == 1 and "failed" not in said, said
    works(stack, engine)
    return done.stdout


async def key_applied(pilot, app, key: str, shown: str) -> str:
    """A layout key in the TUI: its diff, Apply, the outcome; the table then shows `shown` for b. The diff."""
    from stacktui.ui.modals import DiffModal
    from tests.test_ui_acceptance import finish_modal, laid_out
    from tests.waiting import until_app

    if key:
        await pilot.press(key)
    diff = await until_app(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                           and app.screen, what=f"the diff of {key or 's'}")
    await pilot.press("y")  # apply (a click can miss while the dialog's latency lines still grow)
    modal = await finish_modal(pilot, app)
    assert modal.outcome.ok, (modal.outcome.summary, modal.outcome.details)
    await pilot.press("enter")
    await until_app(pilot, lambda: app.table.cell_text("b", "namespace") == shown, timeout=30,
                    what=f"b shown as {shown!r} after {key}")
    return diff.diff


# Whose namespaces b joins in each shape's own layout, and after `shared` (a's network and ipc).
JOINS = {"fan": {"network": "a"}, "ipc": {"ipc": "a"}, "silent": {"network": "a"}}
SHARED = {"network": "a", "ipc": "a"}


@pytest.mark.parametrize("shape", ["fan", "ipc", "silent"])
async def test_healthy_layout_b_s_u_in_the_tui_then_undo_puts_the_file_back(stacks, engine, shape: str) -> None:
    """Each layout operation once per shape, two of them applied (each apply recreates containers): b (the
    separate change) or, on the ipc share, where b has no network owner yet, s (the shared change), then the CLI's
    undo. The others show their diffs and are cancelled; the CLI's dry run of the change not applied prints the
    diff its key showed (one core function prepares both), and undo applies the diff u showed."""
    from stacktui.ui.app import StackApp
    from stacktui.ui.modals import ChoiceModal, DiffModal
    from tests.test_ui_acceptance import laid_out, select
    from tests.waiting import until_app

    stack = whole(stacks, engine, shape)
    original = stack.file.read_bytes()
    assert joins(stack, engine, "b") == JOINS[shape]

    def dry_run(*args: str) -> str:
        done = stack.stacktui("layout", *args, "--dry-run")
        assert done.returncode == 0 and "nothing written" in done.stdout, done.stdout + done.stderr
        return done.stdout

    async def shown(key: str) -> str:
        """The diff a key shows, then cancelled: nothing written."""
        before = stack.file.read_bytes()
        await pilot.press(key)
        if key == "s":
            choice = await until_app(pilot, lambda: on_screen(app, ChoiceModal) and app.screen,
                                     what="the choice")
            assert choice.options == ["a"]  # in the fan, c is in a's namespace already: no owner to join
            await pilot.press("enter")
        diff = await until_app(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                               and app.screen, what=f"the diff of {key}")
        await pilot.press("escape")
        await until_app(pilot, lambda: not isinstance(app.screen, DiffModal) and app.busy is None,
                        what="the diff closed")
        assert stack.file.read_bytes() == before
        return diff.diff

    target = resolve_target([str(stack.file)], cwd=stack.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "b")
        if shape == "ipc":
            assert body(await shown("b")) == body(dry_run("separate", "b"))
            await pilot.press("s")
            choice = await until_app(pilot, lambda: on_screen(app, ChoiceModal) and app.screen,
                                     what="the choice")
            assert choice.options == ["a"]
            await pilot.press("enter")
            await key_applied(pilot, app, "", "shares a")
            assert joins(stack, engine, "b") == SHARED
        else:
            await key_applied(pilot, app, "b", "own")
            assert joins(stack, engine, "b") == {}
            cli = await asyncio.to_thread(dry_run, "shared", "b", "--with", "a")
            assert "dry run: share a's network and ipc namespaces with b" in cli, cli
            assert body(await shown("s")) == body(cli)
        undo = await shown("u")
    works(stack, engine)

    done = applied(stack, engine, "undo")  # status's rows after it: every service well, none stale (its exit 0)
    assert body(done) == body(undo)
    assert stack.file.read_bytes() == original and joins(stack, engine, "b") == JOINS[shape]


def body(diff: str) -> list[str]:
    """A diff's changed lines, without its file names."""
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


# --- a needed host port held; a gate that never passes (every shape but the pair's gate, above) -------------

def broken_probe(shape: str) -> str:
    """The shape's text with b's probe asking a URL that answers 404 (b reached as a in a shared network)."""
    host = "b" if shape == "ipc" else "a"
    text, n = re.subn(r"(  b:\n(?:    .*\n)*?    x-stacktui: \{listens: \[7002\])[^}]*\}",
                      rf'\1, health: "http://{host}:7002/missing"}}', SHAPES[shape].text)
    assert n == 1
    return text


@pytest.mark.parametrize("shape", ["pair", "chain", "fan", "ipc", "silent"])
def test_port_held_fails_at_once_then_a_gate_that_never_passes_fails_the_owners_restart(stacks, engine,
                                                                                        shape: str) -> None:
    from tests.test_layout_apply import listener, set_env, snapshot

    s = SHAPES[shape]
    stack = whole(stacks, engine, shape)
    if shape in ("fan", "ipc"):  # (the pair and the chain: test_layout_apply.py)
        # layout separate b, with the host port b is to publish held by another program: refused, nothing touched
        taken = free_port()
        with listener(taken):
            env = set_env(stack, B_PORT=taken)
            try:
                before, containers = stack.file.read_bytes(), snapshot(engine, stack)
                done = stack.stacktui("layout", "separate", "b", "--yes")
                assert done.returncode == 1, done.stdout + done.stderr
                assert f"127.0.0.1:{taken}/tcp for b is in use by pid {os.getpid()}" in done.stderr, done.stderr
                assert "nothing was changed" in done.stderr and not DONE.search(done.stdout)
                assert stack.file.read_bytes() == before and snapshot(engine, stack) == containers
            finally:
                (stack.dir / ".env").write_text(env)
    if s.ports:
        # the owner stopped; meanwhile another program took a port it publishes (b's; in the ipc share, its own):
        # its restart fails at once
        port = stack.ports["A_PORT"] if shape == "ipc" else stack.ports["B_PORT"]
        subprocess.run(["docker", "stop", "-t", "1", stack.container(engine, "a").id], check=True,
                       capture_output=True, timeout=60)
        with listener(port):
            containers = snapshot(engine, stack)
            done = stack.stacktui("restart", "a", "--timeout", "60")
            said = done.stdout + done.stderr
            assert done.returncode == 1, said
            assert f"127.0.0.1:{port}" in said and f"pid {os.getpid()}" in said, said
            assert "not passed within" not in said and not DONE.search(said), said
            assert snapshot(engine, stack) == containers  # nothing started, nothing stopped
    # b's probe never passes: the owner's restart stops at b, says so, and names what brings the rest back
    stack.file.write_text(broken_probe(shape))
    try:
        done = stack.stacktui("restart", "a", "--timeout", "2")
        said = done.stdout + done.stderr
        assert done.returncode == 1, said
        assert not DONE.search(said), said
        host = "b" if shape == "ipc" else "a"
        assert f"probe http://{host}:7002/missing gate not passed within 2.00 s" in said and "HTTP 404" in said, said
        left = [j for j in s.joiners if j != "b"]
        fix = re.search(r"`(stacktui restart [^`]+)` brings them back", said)
        if left:
            assert fix and f"left stopped, as they were stopped with their namespace owner: {', '.join(left)}" in said
        else:
            assert fix is None and "left stopped" not in said, said
        # the engine holds a and b running, in their owners' current namespaces: only the probe is wrong
        assert states(stack, engine)["a"] == "running" and states(stack, engine)["b"] == "running"
        assert stale(stack, engine) == {}
    finally:
        stack.file.write_text(s.text)
    if fix:  # the command printed, run once the probe answers, brings back what the plan left stopped
        again = stack.stacktui(*fix.group(1).split()[1:])
        assert again.returncode == 0, again.stdout + again.stderr
    works(stack, engine)
