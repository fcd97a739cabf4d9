"""Acceptance of the TUI's keys on the real engine: r restarts in order, b splits, u undoes.

The same app a user gets, on a real demo stack, with the real restart, layout
and history code behind it; assertions are on what the user sees (the modal's
outcome, the table's cells) and on what the stack then does (ports answering,
the backend's log).
"""
from __future__ import annotations

import time

import httpx

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import DiffModal, PlanModal
from tests.test_ui_live import until


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


async def finish_modal(pilot, app: StackApp, timeout: float = 90.0) -> PlanModal:
    modal = await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen.outcome is not None
                        and app.screen, timeout=timeout, what="the plan's outcome")
    return modal


async def test_r_restarts_vscode_then_mcp_server_and_mcp_answers_after(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    before = {c.service: c.started_at for c in engine.project_containers(demo_stack.name)}
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("r")
        plan = await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen, what="the plan modal")
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
        diff = await until(pilot, lambda: isinstance(app.screen, DiffModal) and app.screen, what="the diff modal")
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
        undo = await until(pilot, lambda: isinstance(app.screen, DiffModal) and app.screen, what="the undo diff")
        assert '+    network_mode: "service:vscode"' in undo.diff
        await pilot.click("#diff-apply")
        modal = await finish_modal(pilot, app)
        assert modal.outcome.ok, modal.outcome
        await pilot.press("enter")
        await until(pilot, lambda: app.table.cell_text("mcp-server", "namespace") == "shares vscode",
                    what="mcp-server shares vscode again in the table")
    assert demo_stack.file.read_bytes() == original
    assert health_ok(port)
