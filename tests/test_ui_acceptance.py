"""Acceptance of the TUI's keys on the real engine: r restarts in order (the plan the CLI prints),
b splits (asking for the ports when nothing says), s shares, u undoes, Esc cancels a plan, and a
finding's one-key fix repairs what it names.

The same app a user gets, on a real demo stack, with the real restart, layout
and history code behind it; assertions are on what the user sees (the modal's
outcome, the table's cells) and on what the stack then does (ports answering,
the backend's log).
"""
from __future__ import annotations

import asyncio
import json
import time

import httpx

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.findings import STALE_NAMESPACE
from stacktui.core.loader import load_project
from stacktui.core.ops.layout import prepare_separate
from stacktui.ui.app import StackApp
from stacktui.ui.modals import ChoiceModal, DiffModal, PlanModal, PortsModal
from tests.conftest import DEMO_PORTS
from tests.waiting import on_screen
from tests.waiting import until_app as until


def health_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def select(pilot, app: StackApp, service: str) -> None:
    await until(pilot, lambda: app.table.status_of(service), what=f"{service} in the table")
    app.table.move_cursor(row=list(app.project.services).index(service))
    await pilot.pause()
    assert app.table.selected_service == service


def laid_out(screen, selector: str) -> bool:
    """The widget is on the screen, laid out: a click now lands on it."""
    found = screen.query(selector)
    return bool(found) and found.first().region.width > 0


async def finish_modal(pilot, app: StackApp, timeout: float = 90.0) -> PlanModal:
    modal = await until(pilot, lambda: on_screen(app, PlanModal) and app.screen.outcome is not None
                        and app.screen, timeout=timeout, what="the plan's outcome")
    return modal


async def start_plan(pilot, app: StackApp) -> PlanModal:
    """The plan modal once it is up, its Run pressed (enter on the focused button)."""
    modal = await until(pilot, lambda: on_screen(app, PlanModal) and app.screen.focused is not None
                        and app.screen.focused.id == "plan-run" and app.screen, what="the plan modal, Run focused")
    await pilot.press("enter")
    await until(pilot, lambda: modal.state != "confirm", what="the plan started")
    return modal


async def test_r_restarts_vscode_then_mcp_server_and_mcp_answers_after(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    before = {c.service: c.started_at for c in engine.project_containers(demo_stack.name)}
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("r")
        plan = await until(pilot, lambda: on_screen(app, PlanModal) and app.screen, what="the plan modal")
        steps = [s.label for s in plan.steps]
        assert steps.index(next(s for s in steps if "vscode" in s)) < steps.index(
            next(s for s in steps if "mcp-server" in s)), steps
        assert plan.outcome is None  # it asks first: nothing has run yet
        await pilot.click("#plan-run")
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
    after = {c.service: c.started_at for c in engine.project_containers(demo_stack.name)}
    assert after["vscode"] > before["vscode"] and after["mcp-server"] > after["vscode"]
    assert health_ok(port)


async def test_b_splits_mcp_server_with_a_diff_and_u_brings_the_shared_layout_back(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    original = demo_stack.file.read_bytes()
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "mcp-server")
        assert app.table.cell_text("mcp-server", "namespace") == "shares vscode"

        await pilot.press("b")
        diff = await until(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                           and app.screen, what="the diff modal")
        assert '-    network_mode: "service:vscode"' in diff.diff
        assert demo_stack.file.read_bytes() == original  # a diff first: nothing written yet
        await pilot.click("#diff-apply")
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "namespace") == "own",
                    what="mcp-server in its own namespace in the table")
        assert "network_mode" not in demo_stack.file.read_text().split("mcp-server:")[1].split("backend:")[0]
        assert health_ok(port)  # the same host port, now published by mcp-server itself
        mcp = demo_stack.container(engine, "mcp-server")
        assert port in {p.host_port for p in mcp.ports}

        deadline = time.monotonic() + 20
        while "MCP reachable at http://mcp-server:9001/health" not in demo_stack.compose(
                "logs", "--no-color", "backend").stdout:
            assert time.monotonic() < deadline, "the backend never reached mcp-server at its new address"
            await pilot.pause(0.5)

        await pilot.press("u")
        undo = await until(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                           and app.screen, what="the undo diff")
        assert '+    network_mode: "service:vscode"' in undo.diff
        await pilot.click("#diff-apply")
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "namespace") == "shares vscode",
                    what="mcp-server shares vscode again in the table")
    assert demo_stack.file.read_bytes() == original
    assert health_ok(port)


# --- the plan r shows is the plan `stacktui restart --dry-run` prints ---------------------------------------

def cli_plan(stack, service: str) -> list[dict]:
    done = stack.stacktui("restart", service, "--dry-run", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["steps"]


async def shown_plan(pilot, app: StackApp, service: str) -> list[tuple[str, str]]:
    """r on the service: the steps as the modal lists them; then Esc, which runs nothing."""
    await select(pilot, app, service)
    await pilot.press("r")
    modal = await until(pilot, lambda: on_screen(app, PlanModal) and app.screen, what="the plan modal")
    steps = [(s.label, s.detail) for s in modal.steps]
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, PlanModal) and app.busy is None, what="the modal closed")
    assert modal.outcome is None and modal.events == []  # nothing ran
    return steps


def as_shown(steps: list[dict]) -> list[tuple[str, str]]:
    """The CLI's JSON steps in the words the modal uses for them (label; detail up to a recreate note)."""
    return [(f"{s['action']} {s['service']}", f"then waits for: {', '.join(s['waits_for'])}") for s in steps]


def waits(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(label, detail.split("; recreate:")[0]) for label, detail in shown]


async def test_r_shows_the_plan_the_cli_prints_also_after_the_owner_was_removed(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        shown = await shown_plan(pilot, app, "vscode")
        cli = await asyncio.to_thread(cli_plan, demo_stack, "vscode")
        assert waits(shown) == as_shown(cli)
        assert [label for label, _ in shown] == ["restart vscode", "restart mcp-server"]

        # vscode's container is removed behind the app's back: vscode has to be created again, and
        # mcp-server cannot be started in place in a namespace that is gone.
        engine.api.remove_container(demo_stack.container(engine, "vscode").id, force=True)
        shown = await shown_plan(pilot, app, "vscode")
        cli = await asyncio.to_thread(cli_plan, demo_stack, "vscode")
        assert waits(shown) == as_shown(cli)
        assert [label for label, _ in shown] == ["recreate vscode", "recreate mcp-server"]
        assert shown[0][1].endswith("; recreate: vscode has no container")
        assert shown[1][1].endswith("; recreate: vscode gets a new container first")

        shown = await shown_plan(pilot, app, "mcp-server")
        cli = await asyncio.to_thread(cli_plan, demo_stack, "mcp-server")
        assert waits(shown) == as_shown(cli)
        assert [label for label, _ in shown] == ["recreate mcp-server"]
        assert "which is no longer vscode's" in shown[0][1]

        # And the plan shown is the plan run: vscode is created again, mcp-server joins the new one.
        await select(pilot, app, "vscode")
        await pilot.press("r")
        await start_plan(pilot, app)
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        assert [s.label for s in modal.steps] == ["recreate vscode", "recreate mcp-server"]
        await pilot.press("enter")
    vscode, mcp = demo_stack.container(engine, "vscode"), demo_stack.container(engine, "mcp-server")
    assert mcp.network_mode == f"container:{vscode.id}"
    assert health_ok(demo_stack.ports["DEMO_MCP_HTTP_PORT"])


# --- a finding's fix, and Esc during a plan ---------------------------------------------------------------

def stale_finding(app: StackApp, service: str):
    return next((f for f in app.findings if f.kind == STALE_NAMESPACE and f.service == service), None)


async def test_a_stale_findings_fix_restarts_it_and_esc_stops_a_plan_after_the_current_step(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "mcp-server")
        engine.restart(demo_stack.container(engine, "vscode").id, timeout=1)  # as `docker restart vscode` would
        # While vscode is down the finding rightly says to restart vscode; once it is back (the restart call
        # has returned, the table may lag a moment), it says to restart mcp-server into its new namespace.
        finding = await until(pilot, lambda: (f := stale_finding(app, "mcp-server")) is not None
                              and f.fix == "restart:mcp-server" and f, timeout=40,
                              what="the stale finding for mcp-server, fixed by restarting mcp-server")
        assert app.table.status_of("mcp-server").stale
        options = app.query_one("#findings-list")
        options.focus()
        options.highlighted = app.findings.index(finding)
        await pilot.press("enter")
        plan = await start_plan(pilot, app)
        assert [s.label for s in plan.steps] == ["restart mcp-server"]
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
        await until(pilot, lambda: not app.table.status_of("mcp-server").stale
                    and app.table.status_of("mcp-server").health == "healthy", timeout=40,
                    what="mcp-server healthy and no longer stale in the table")
        await until(pilot, lambda: stale_finding(app, "mcp-server") is None and app.findings_panel.checked_at,
                    timeout=40, what="the stale finding gone")
        assert health_ok(port)

        # r on vscode, then Esc while its step runs: that step finishes, mcp-server's does not run.
        await select(pilot, app, "vscode")
        await pilot.press("r")
        plan = await start_plan(pilot, app)
        assert [s.label for s in plan.steps] == ["restart vscode", "restart mcp-server"]
        await until(pilot, lambda: any(e.kind == "step_started" for e in plan.events) or plan.outcome,
                    what="the first step")
        assert plan.outcome is None, plan.outcome
        await pilot.press("escape")
        assert plan.cancel_event.is_set()
        modal = await finish_modal(pilot, app)
        assert not modal.outcome.ok
        assert modal.outcome.summary.startswith("restart cancelled"), modal.outcome.summary
        assert modal.step_state == ["done", "skipped"]
        assert "not run: restart mcp-server" in modal.outcome.details
        # What starts it again, as the command line says it.
        assert ("left stopped with their owner: mcp-server (`stacktui restart mcp-server` brings them back)"
                in modal.outcome.details), modal.outcome.details
        await pilot.press("enter")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "state").startswith("exited"),
                    what="mcp-server shown stopped")
    assert demo_stack.container(engine, "vscode").state == "running"
    assert demo_stack.container(engine, "mcp-server").state == "exited"


# --- s shares, and b asks which ports move when nothing says -------------------------------------------------

async def test_s_shares_a_separate_service_and_b_asks_for_the_ports_nothing_declares(stack_factory, engine):
    stack = stack_factory("demo", DEMO_PORTS)
    target = resolve_target([str(stack.file)], cwd=stack.dir)
    # Start from the separate layout core itself writes, with mcp-server's declared ports taken out.
    separate = prepare_separate(load_project(target), "mcp-server").new_text
    assert "      listens: [9001, 9002]\n" in separate
    stack.file.write_text(separate.replace("      listens: [9001, 9002]\n", ""))
    stack.up()
    port = stack.ports["DEMO_MCP_HTTP_PORT"]
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "mcp-server")
        assert app.table.cell_text("mcp-server", "namespace") == "own"
        before = stack.file.read_bytes()

        await pilot.press("s")
        choice = await until(pilot, lambda: on_screen(app, ChoiceModal) and app.screen, what="the choice")
        assert choice.options == ["vscode", "backend"]
        await pilot.press("enter")  # vscode, the first
        diff = await until(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                           and app.screen, what="the diff modal")
        assert '+    network_mode: "service:vscode"' in diff.diff
        assert stack.file.read_bytes() == before  # a diff first: nothing written yet
        await pilot.click("#diff-apply")
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "namespace") == "shares vscode",
                    what="mcp-server shares vscode in the table")
        assert health_ok(port)
        assert port in {p.host_port for p in stack.container(engine, "vscode").ports}

        # Nothing declares mcp-server's ports and nothing listens for it now: b asks which move.
        await asyncio.to_thread(stack.compose, "stop", "mcp-server")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "state").startswith("exited"),
                    what="mcp-server shown stopped")
        shared = stack.file.read_bytes()
        await pilot.press("b")
        ask = await until(pilot, lambda: on_screen(app, PortsModal) and laid_out(app.screen, "#ports-ok")
                          and app.screen, what="the ports prompt")
        assert [(c.port, c.who, c.ticked) for c in ask.choices] == [
            (8080, "vscode (listening now)", False), (9001, "nobody known", False), (9002, "nobody known", False)]
        await pilot.press("down", "space", "down", "space")  # 9001 and 9002
        await pilot.click("#ports-ok")
        diff = await until(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                           and app.screen, what="the diff modal")
        added = [line for line in diff.diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
        assert '-    network_mode: "service:vscode"' in diff.diff
        assert any(":9001" in line for line in added) and any(":9002" in line for line in added), diff.diff
        await pilot.press("escape")  # no: nothing is written
        await until(pilot, lambda: not isinstance(app.screen, DiffModal) and app.busy is None, what="the diff closed")
        assert stack.file.read_bytes() == shared
