"""The stale flow in the live TUI on the real engine (issue 17, gap 1).

The seed failure: a raw `docker restart` of the namespace owner strands mcp-server in the old
namespace, where its own healthcheck still passes. The user sees the STALE row and a finding
whose fix is one key; after it the row is healthy again and the port answers.
"""
from __future__ import annotations

import os
import subprocess

import httpx

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import PlanModal
from tests.waiting import on_screen, until_app


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_raw_owner_restart_shows_stale_and_one_key_on_its_finding_fixes_it(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=1.0)
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            table, panel = app.table, app.findings_panel
            await until_app(pilot, lambda: table.status_of("mcp-server") and table.cell_text("mcp-server", "health")
                            == "\u2714 healthy", 60, "mcp-server healthy in the table")
            assert table.cell_text("mcp-server", "badge") == ""

            owner = demo_stack.container(engine, "vscode")
            subprocess.run(["docker", "restart", "-t", "1", owner.name], check=True, capture_output=True, timeout=60,
                           env={**os.environ})

            await until_app(pilot, lambda: table.cell_text("mcp-server", "badge").strip() == "STALE", 60,
                            "the STALE badge on mcp-server's row")
            assert table.cell_text("vscode", "badge") == ""  # the owner itself is fine
            stale = await until_app(pilot, lambda: next((f for f in panel.findings if f.service == "mcp-server"
                                                         and "stale" in f.kind), None), 60, "a stale finding")
            assert stale.fix == "restart:mcp-server"
            assert not answers(port)  # what the user would notice: the published port leads nowhere

            # One key on the finding: enter brings up the restart plan for mcp-server; Run runs it.
            options = app.query_one("#findings-list")
            options.focus()
            options.highlighted = panel.findings.index(stale)
            await pilot.press("enter")
            plan = await until_app(pilot, lambda: on_screen(app, PlanModal) and app.screen, 20, "the plan")
            assert any("mcp-server" in s.label for s in plan.steps)
            await pilot.press("enter")  # Run has the focus
            await until_app(pilot, lambda: plan.outcome is not None, 90, "the plan's outcome")
            assert plan.outcome.ok, plan.outcome
            await pilot.press("enter")

            await until_app(pilot, lambda: table.cell_text("mcp-server", "badge") == ""
                            and table.cell_text("mcp-server", "health") == "\u2714 healthy", 60,
                            "mcp-server's row healthy again")
            await until_app(pilot, lambda: not any(f.service == "mcp-server" and "stale" in f.kind
                                                   for f in panel.findings), 30, "the stale finding gone")
            assert answers(port)
            await pilot.press("q")
    finally:
        app.stop_core()
