"""The TUI on the real restart, layout and check cores: issue 7's "done when" for r, b, s and u.

NOT COLLECTED on the tui branch (the name does not start with test_): core/restart.py,
core/layout*.py, core/history.py and core/check.py live on other branches. After merging
them, rename this file to tests/test_ui_wiring.py. It passed against a scratch merge of
tui + restart + layout + health (see the tui branch's report).
"""
from __future__ import annotations

import httpx

from stacktui.core.discovery import resolve_target
from stacktui.core.project import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import ChoiceModal, DiffModal, PlanModal
from tests.test_ui_live import until


async def test_r_then_b_then_u_on_the_demo_stack(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], None, None, [], [], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.table
        await until(pilot, lambda: table.status_of("mcp-server") is not None
                    and table.cell_text("mcp-server", "health") == "\u2714 healthy", what="healthy")

        # r on vscode: the plan (vscode, then mcp-server), confirm, live steps, and mcp-server answers after.
        table.move_cursor(row=0)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PlanModal), what="the plan")
        plan = app.screen
        assert [s.label for s in plan.steps] == ["restart vscode", "restart mcp-server"]
        await pilot.press("enter")
        await until(pilot, lambda: plan.state == "done", timeout=90, what="the plan to finish")
        assert plan.outcome is not None and plan.outcome.ok, plan.outcome
        assert plan.step_state == ["done", "done"]
        assert {e.step for e in plan.events if e.kind == "step_done"} == {0, 1}
        await pilot.press("enter")
        port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200

        # b on mcp-server: the diff, apply, and the table shows the separate layout.
        table.move_cursor(row=1)
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, DiffModal), timeout=30, what="the diff")
        assert '-    network_mode: "service:vscode"' in app.screen.diff
        await pilot.click("#diff-apply")
        await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen.state == "done", timeout=120,
                    what="the change applied")
        assert app.screen.outcome.ok, app.screen.outcome
        await pilot.press("enter")
        await until(pilot, lambda: table.cell_text("mcp-server", "namespace") == "own", timeout=60,
                    what="mcp-server on its own")
        assert str(port) in table.cell_text("mcp-server", "ports")

        # s: share vscode's namespaces again, chosen from a list.
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="the owner choice")
        choice = app.screen
        await pilot.press(*["down"] * choice.options.index("vscode"), "enter")
        await until(pilot, lambda: isinstance(app.screen, DiffModal), timeout=30, what="the share diff")
        assert '+    network_mode: service:vscode' in app.screen.diff.replace('"', "")
        await pilot.click("#diff-apply")
        await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen.state == "done", timeout=120,
                    what="the share applied")
        assert app.screen.outcome.ok, app.screen.outcome
        await pilot.press("enter")
        await until(pilot, lambda: table.cell_text("mcp-server", "namespace") == "shares vscode", timeout=60,
                    what="shared again")

        # u: undo the share, back to separate.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, DiffModal), timeout=30, what="the undo diff")
        await pilot.click("#diff-apply")
        await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen.state == "done", timeout=120,
                    what="the undo applied")
        assert app.screen.outcome.ok, app.screen.outcome
        await pilot.press("enter")
        await until(pilot, lambda: table.cell_text("mcp-server", "namespace") == "own", timeout=60,
                    what="separate again")
        await pilot.press("q")
    assert app.return_code == 0
