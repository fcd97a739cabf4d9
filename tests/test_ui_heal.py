"""`H` in the TUI (issue 14): self-heal for the open project, the same core healer `watch --heal` runs.

On the real engine, the real app: with heal on (`heal = true` in config.toml starts it so), a
raw restart of the owner (the Docker SDK, not stacktui) strands mcp-server and the app repairs
it by itself: `heal on` in the top bar, one plain marker line in the log pane, a notification,
and the port answers again. With heal off the same strand is only shown (STALE), nothing touches the joiner; `H` again repairs it.
"""
from __future__ import annotations

import docker
import httpx

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from stacktui.core.settings import KEY_ACTIONS, Settings
from stacktui.ui.app import StackApp
from stacktui.ui.keys import help_rows
from tests.waiting import until_app

MARKER = "[heal] mcp-server stranded (vscode restarted) -> restarted, healthy in "


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def raw_restart(container_id: str) -> None:
    client = docker.from_env(timeout=60)
    try:
        client.containers.get(container_id).restart(timeout=1)
    finally:
        client.close()


async def test_h_turns_self_heal_on_and_off_for_the_open_project(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    # `heal = true` in config.toml: on from the start; H turns it off and on again.
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=1.0, settings=Settings(heal=True))
    port = demo_stack.ports["DEMO_MCP_HTTP_PORT"]

    def topbar() -> str:
        return str(app.query_one("#topbar").content)

    def markers() -> list[str]:
        return [line for line in app.pane.visible_lines() if line.lstrip().startswith("[heal]") or "[heal] " in line]

    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.table
            await until_app(pilot, lambda: table.status_of("mcp-server") and table.cell_text("mcp-server", "health")
                            == "\u2714 healthy", 60, "mcp-server healthy in the table")
            await until_app(pilot, lambda: "heal on" in topbar(), 10, "`heal on` in the top bar")
            heal_key = next(desc for desc in KEY_ACTIONS if desc.id == "heal").description
            assert ("H", heal_key) in help_rows(app), "in the help, with its key"
            await until_app(pilot, lambda: app.heal.healer is not None and app.heal.healer.watcher.snapshot is not None, 20,
                            "the healer listening")

            mcp = demo_stack.container(engine, "mcp-server")
            raw_restart(demo_stack.container(engine, "vscode").id)
            line = await until_app(pilot, lambda: next((m for m in markers() if MARKER in m), None), 60,
                                   "the heal's marker line in the log pane")
            assert "[" not in line.split("[heal]", 1)[1], "plain text: no markup left in the line"
            await until_app(pilot, lambda: any("mcp-server is back" in n.message for n in app._notifications), 10,
                            "the heal's notification")
            assert len(markers()) == 1, "one line per heal action"
            assert answers(port)
            assert find_stale(app.project, engine.project_containers(demo_stack.name)) == {}
            again = demo_stack.container(engine, "mcp-server")
            assert again.id == mcp.id and again.started_at > mcp.started_at, "restarted in place"

            # Off: the next strand is shown, not repaired.
            await pilot.press("H")
            assert "heal on" not in topbar() and app.heal.healer is None
            healed = demo_stack.container(engine, "mcp-server")
            raw_restart(demo_stack.container(engine, "vscode").id)
            await until_app(pilot, lambda: table.cell_text("mcp-server", "badge").strip() == "STALE", 60,
                            "the STALE badge on mcp-server's row")
            # A heal would have begun within a second of the owner's start (the first one did); give it three.
            await pilot.pause(3.0)
            left = demo_stack.container(engine, "mcp-server")
            assert left.id == healed.id and left.started_at == healed.started_at, "nothing touched the joiner"
            assert table.cell_text("mcp-server", "badge").strip() == "STALE"
            assert not answers(port)
            assert len(markers()) == 1

            # On again: what is stranded now is repaired at once.
            await pilot.press("H")
            assert "heal on" in topbar()
            assert any("self-heal on" in n.title for n in app._notifications)
            await until_app(pilot, lambda: len([m for m in markers() if MARKER in m]) == 2, 60,
                            "the second heal's marker line")
            assert answers(port)
            await pilot.press("q")
    finally:
        app.stop_core()
