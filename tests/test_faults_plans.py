"""Plans under interference: someone else at the containers, two requests at once, signals.

Case 2: a container removed or recreated by someone else while a plan waits on it.
Case 6: two restarts, or a restart and a layout change, at once from two processes (and the
        TUI against a CLI): one waits or is refused, they never interleave.
Case 7: SIGINT/SIGTERM during a plan or a layout apply: the current step finishes or is put
        back, the rest is reported as not run, and no file is left half-written.

One slowgate stack (tests/data/faults/slowgate) serves the module on the shared engine; its
owner is made slow (scripts/ready-after) so that a plan waits at the owner's gate long enough
to strike. Each test leaves the stack up and healthy again.
"""
from __future__ import annotations

import re

import shutil
import signal
from pathlib import Path
from typing import Iterator

import pytest

from textual import events

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import PlanModal
from tests.conftest import Stack, running_stack
from tests.faults_support import DATA, SLOWGATE_PORTS, Running, slow_owner, temp_files
from tests.waiting import on_screen, until, until_app
from tests.usercli import STACKTUI, cli_env


@pytest.fixture(scope="module")
def slowgate(tmp_path_factory: pytest.TempPathFactory, demo_image: str) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("slowgate"), str(DATA / "slowgate"), SLOWGATE_PORTS)


@pytest.fixture
def stack(slowgate: Stack, engine) -> Iterator[Stack]:
    """The module's stack, slow owner off, file as shipped, and up as shipped again after the test."""
    original = slowgate.file.read_bytes()
    slow_owner(slowgate, None)
    yield slowgate
    slow_owner(slowgate, None)
    changed = slowgate.file.read_bytes() != original
    slowgate.file.write_bytes(original)
    shutil.rmtree(slowgate.dir / ".stacktui", ignore_errors=True)
    now = {c.service: c for c in engine.project_containers(slowgate.name)}
    same_shape = (not changed and set(now) == {"owner", "joiner"}
                  and now["joiner"].network_mode == f"container:{now['owner'].id}")
    if not same_shape:
        slowgate.compose("up", "-d", "--wait", "--wait-timeout", "60", "--force-recreate")
    elif any(c.state != "running" for c in now.values()):
        slowgate.compose("start")  # left stopped by a plan that was stopped: the same containers go on


def spawn(stack: Stack, *args: str) -> Running:
    env = cli_env(NO_COLOR="1")
    return Running.start([*STACKTUI, *args], stack.dir, env)


READER_SLACK = 0.25  # seconds: how far two readers' clocks for lines written in one order may swap it


def line_at(run: Running, text: str) -> float:
    return next(line.at for line in run.out if text in line.text)


# --- case 2: someone else at the containers ------------------------------------------------------------

def test_a_container_removed_while_a_plan_waits_on_it_ends_the_plan_at_once(stack, engine):
    slow_owner(stack, 30)
    run = spawn(stack, "restart", "owner", "--timeout", "60")
    run.wait_for("[1/2]   waiting for running, healthy")
    owner = stack.container(engine, "owner")
    engine.api.remove_container(owner.id, force=True)  # someone else: docker rm -f
    code = run.finish(timeout=20)  # not the gate's 60 s, nor the owner's 30 s
    out = run.stdout
    assert code == 1, out + run.stderr
    assert f"[1/2] FAILED: step 1/2 owner: owner's container {owner.id[:12]} was removed while waiting for its " \
           "gates, not by stacktui" in out
    assert "not run: joiner" in out and "[2/2]" not in out
    assert "Traceback" not in run.stderr


def test_a_container_recreated_by_someone_else_while_a_plan_waits_stops_the_plan(stack, engine):
    slow_owner(stack, 30)
    joiner_before = stack.container(engine, "joiner")
    run = spawn(stack, "restart", "owner", "--timeout", "60")
    run.wait_for("[1/2]   waiting for running, healthy")
    old = stack.container(engine, "owner")
    # Compose stops the old container before it makes the new one; a gate that looked in between
    # would see an exit (a failure too, but not this one). The plan is frozen while someone else
    # recreates the owner, so what it sees when it looks again is only the replacement.
    run.signal(signal.SIGSTOP, group=True)
    try:
        stack.compose("up", "-d", "--no-deps", "--force-recreate", "owner")  # someone else
    finally:
        run.signal(signal.SIGCONT, group=True)
    code = run.finish(timeout=20)
    out = run.stdout
    assert code == 1, out + run.stderr
    failed = next(line for line in out.splitlines() if line.startswith("[1/2] FAILED: step 1/2 owner: "))
    failed = re.sub(r" \(after [\d.]+ s\)$", "", failed)  # the gate's elapsed time, when it names one
    assert failed == (f"[1/2] FAILED: step 1/2 owner: owner's container {old.id[:12]} was replaced by "
                      f"{stack.container(engine, 'owner').id[:12]} while waiting for its gates: someone else "
                      "recreated it"), failed
    assert "not run: joiner" in out and "[2/2]" not in out, "nothing more is done on a stack someone else changes"
    # The plan touched joiner only as its step 1 said (stopped with its owner), and says so.
    assert "left stopped, as they were stopped with their namespace owner: joiner" in out
    joiner = stack.container(engine, "joiner")
    assert joiner.id == joiner_before.id and joiner.state == "exited"
    assert stack.container(engine, "owner").id != old.id


# --- case 6: two at once -----------------------------------------------------------------------------

def test_two_restarts_from_two_processes_never_interleave_and_a_layout_change_is_refused(stack, engine):
    slow_owner(stack, 6)
    before = stack.file.read_bytes()
    first = spawn(stack, "restart", "owner")
    first.wait_for("[1/2]   waiting for running, healthy")
    second = spawn(stack, "restart", "owner")  # waits for the project's lock
    hasty = spawn(stack, "restart", "joiner", "--no-wait")
    layout = spawn(stack, "layout", "separate", "joiner", "--yes")
    second.wait_for(f"waiting: project {stack.name} is busy: restart owner (pid {first.proc.pid})")
    slow_owner(stack, None)  # the second plan's owner is healthy at once
    assert hasty.finish(30) == 1
    assert hasty.stderr.strip() == f"stacktui: project {stack.name} is busy: restart owner (pid {first.proc.pid}) " \
                                   "(wait for it to finish, then try again)"
    assert layout.finish(30) == 1
    assert f"stacktui: project {stack.name} is busy: restart owner (pid {first.proc.pid})" in layout.stderr
    assert stack.file.read_bytes() == before and not (stack.dir / ".stacktui").exists(), "the refused change wrote nothing"

    assert first.finish(60) == 0, first.stdout + first.stderr
    assert second.finish(60) == 0, second.stdout + second.stderr
    # Every step of the second plan began after the first plan's last step was done. A line's time is when
    # this test's reader thread got it: two pipes, two threads, so lines written a moment apart can arrive
    # in either order (tens of microseconds apart, with the cores busy). A second plan that had not waited would
    # have begun during the first plan's steps, with its slow owner, seconds before that done.
    done = line_at(first, "[2/2] done: joiner back")
    began = line_at(second, "[1/2] restart owner")
    assert began > done - READER_SLACK, (began, done)


async def test_two_keypresses_and_the_tui_against_a_cli_plan(stack, engine):
    target = resolve_target([str(stack.file)], cwd=stack.dir)
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=None)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until_app(pilot, lambda: app.table.status_of("owner") is not None, what="owner's row")
            # r, then R (restart all) in one read from the terminal, before the first plan can show:
            # the second is refused, saying why.
            for key in ("r", "R"):  # queued back to back, as a terminal's driver queues one read's keys
                app.post_message(events.Key(key, key))
            await until_app(pilot, lambda: on_screen(app, PlanModal), what="the plan")
            assert any("busy: a restart is still running" in n.message for n in app._notifications), [n.message for n in app._notifications]
            await pilot.press("escape")  # do not run it
            await until_app(pilot, lambda: app.busy is None and not isinstance(app.screen, PlanModal),
                            what="the plan closed, nothing running")

            # A CLI plan holds the project: the app's plan is refused, says by whom, and runs nothing.
            slow_owner(stack, 3)
            cli = spawn(stack, "restart", "owner")
            cli.wait_for("[1/2]   waiting for running, healthy")
            await pilot.press("r")
            await until_app(pilot, lambda: on_screen(app, PlanModal) and app.screen.query("#plan-run"),
                            what="the second plan, drawn")  # enter before its button is there would go nowhere
            await pilot.press("enter")  # Restart
            modal = app.screen
            await until_app(pilot, lambda: modal.outcome is not None, what="the plan's outcome")
            assert not modal.outcome.ok
            assert f"project {stack.name} is busy: restart owner (pid {cli.proc.pid})" in modal.outcome.summary
            assert modal.events == [], "not one step of the app's plan ran"
            await pilot.press("enter")
            assert cli.finish(60) == 0, cli.stdout + cli.stderr
            await pilot.press("q")
    finally:
        app.stop_core()


# --- case 7: signals ---------------------------------------------------------------------------------------

def test_sigterm_in_a_gate_finishes_the_step_and_reports_the_rest_as_not_run(stack, engine):
    slow_owner(stack, 3)
    run = spawn(stack, "restart", "owner")
    run.wait_for("[1/2]   waiting for running, healthy")
    run.signal(signal.SIGTERM)
    assert run.finish(60) == 1
    out = run.stdout
    assert "stacktui: SIGTERM: finishing the current step, then stopping (again to stop waiting now)" in out
    assert "[1/2] done: owner back" in out, "the current step finished"
    assert "stopped: cancelled before step 2 (joiner)" in out and "not run: joiner" in out
    assert "[2/2]" not in out
    assert "left stopped, as they were stopped with their namespace owner: joiner" in out
    assert stack.container(engine, "owner").state == "running"
    assert stack.container(engine, "joiner").state == "exited"


def test_a_second_signal_stops_waiting_on_the_gate_now(stack, engine):
    slow_owner(stack, 60)  # the owner's gate would hold the plan for a minute
    run = spawn(stack, "restart", "owner")
    run.wait_for("[1/2]   waiting for running, healthy")
    run.signal(signal.SIGTERM)
    run.wait_for("stacktui: SIGTERM: finishing the current step, then stopping (again to stop waiting now)")
    assert run.proc.poll() is None, "one signal lets the step finish: still waiting"
    run.signal(signal.SIGTERM)
    code = run.finish(30)  # not the owner's minute
    out = run.stdout
    assert code == 1, out + run.stderr
    failed = next(line for line in out.splitlines() if line.startswith("[1/2] FAILED: step 1/2 owner: "))
    assert "cancelled while waiting for healthy" in failed, failed
    assert "not run: joiner" in out and "[2/2]" not in out
    assert "Traceback" not in run.stderr
    assert stack.container(engine, "owner").state == "running", "the owner was restarted, only not waited for"
    slow_owner(stack, None)  # leave it healthy for the next test, as the module's tests do
    stack.compose("up", "-d", "--wait", "--wait-timeout", "60", "--force-recreate", "owner", "joiner")


def test_signals_during_a_layout_apply_leave_the_old_or_the_new_file_never_a_part(stack, engine):
    old = stack.file.read_bytes()
    slow_owner(stack, 2)
    # SIGTERM to stacktui alone: Compose carries on, and so does the apply, to its end.
    run = spawn(stack, "layout", "separate", "joiner", "--yes")
    run.wait_for("up: compose up owner joiner")
    run.signal(signal.SIGTERM)
    assert run.finish(90) == 0, run.stdout + run.stderr
    assert "stacktui: SIGTERM: finishing the layout change, or putting everything back, before stopping" in run.stderr
    assert "done: separate joiner from owner" in run.stdout
    new = stack.file.read_bytes()
    assert new != old and b"network_mode" not in new.split(b"joiner:")[1]
    assert temp_files(stack.dir) == []
    assert not stack.container(engine, "joiner").network_mode.startswith("container:")

    # Ctrl-C (SIGINT to the whole process group) while Compose waits for the recreated owner, which
    # the test holds unhealthy for a minute: the signal surely lands inside the apply. Compose
    # stops, and the apply puts everything back.
    slow_owner(stack, 60)
    owner_before = stack.container(engine, "owner").id
    run = spawn(stack, "layout", "shared", "joiner", "--with", "owner", "--yes")
    run.wait_for("up: compose up owner joiner")
    until(lambda: (c := stack.container(engine, "owner")).id != owner_before
          and "ready in 60s" in engine.api.logs(c.id).decode(), 30, "the recreated owner, held unhealthy")
    slow_owner(stack, None)  # the owner the rollback starts is healthy at once
    run.signal(signal.SIGINT, group=True)
    code = run.finish(90)
    assert code == 1, run.stdout + run.stderr
    assert "stacktui: SIGINT: finishing the layout change, or putting everything back, before stopping" in run.stderr
    assert "stacktui: rolled back: compose.yaml is as it was and the previous layout runs again" in run.stderr
    assert "Traceback" not in run.stderr
    assert temp_files(stack.dir) == []
    assert stack.file.read_bytes() == new
    assert not stack.container(engine, "joiner").network_mode.startswith("container:")
    assert Path(stack.dir / ".stacktui" / "history" / "index.jsonl").read_text().count("\n") == 3
