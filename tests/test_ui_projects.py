"""The projects screen on the real engine: both projects listed, a raw restart shows the stale pair, Enter
opens one in the same app and `p` leaves it with nothing of it still running."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from stacktui.commands.context import Context
from stacktui.commands.tui import build_switching_app
from stacktui.core.engine.endpoint import resolve
from stacktui.ui.projects import ProjectsScreen
from tests.conftest import DEMO_PORTS, make_stack
from tests.test_projects import two_demos  # noqa: F401  (the fixture)


async def until(pilot, predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row_text(screen: ProjectsScreen, project: str) -> list[str] | None:
    return screen.row_cells(project)


def key_of(screen: ProjectsScreen, project: str) -> str:
    return next(k for k, (_, s) in screen.rows.items() if s.project == project)


def engine_sockets() -> int:
    """This process's open connections to the engine's socket."""
    path = os.environ["DOCKER_HOST"].removeprefix("unix://")
    return sum(1 for c in psutil.Process().net_connections(kind="unix") if c.raddr == path or c.laddr == path)


async def test_projects_screen_lists_follows_events_opens_and_leaves_nothing_behind(two_demos, engine):  # noqa: F811
    """One app: the projects screen, Enter opens a project in it, `p` stops everything that project ran."""
    a, b = two_demos
    endpoint = resolve()
    app = build_switching_app(Context(), None)
    screen = app.projects_screen
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, lambda: row_text(screen, a.name) and row_text(screen, b.name), what="both projects listed")
        assert app.screen is screen
        # Under it, no project's widgets yet: they are made when one is opened, not before this first frame.
        assert not app.screen_stack[0].query("#services")
        assert row_text(screen, a.name)[1:] == [endpoint.label, "3", "3/3", "3", "0", ""]
        assert endpoint.label in str(screen.query_one("#projects-topbar").render())

        subprocess.run(["docker", "restart", "-t", "1", a.container(engine, "vscode").id], check=True,
                       capture_output=True, timeout=60)
        await until(pilot, lambda: row_text(screen, a.name)[6] == "\u26a0 stale: mcp-server",
                    what="A's row marked stale by the engine's events")
        assert row_text(screen, a.name)[5] == "1" and row_text(screen, b.name)[5] == "0"

        threads_before, sockets_before = set(threading.enumerate()), engine_sockets()
        table = screen.table
        table.move_to(key_of(screen, b.name))
        await pilot.press("r")  # the project's keys do nothing here
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen and app.snapshot is not None
                    and app.table.cell_text("mcp-server", "namespace") == "shares vscode", what="B's table")
        assert app.project.name == b.name and app.engine is screen.engines[0]  # the engine already connected
        top = str(app.query_one("#topbar").render())
        assert f"project {b.name}" in top and "engine unix://" in top
        await until(pilot, lambda: app.pane.log_view.lines, what="B's logs in the pane")
        # Every thread started since Enter but the event loop's executor pool (reused by any worker).
        opened = {t for t in set(threading.enumerate()) - threads_before if not t.name.startswith("asyncio_")}
        assert any(t.name.startswith("logs-") for t in opened)
        # B's watcher hears the events through the stream the projects screen already follows: none of its own.
        assert not any(t.name.startswith("engine-events") for t in opened)

        live = app.live_stack
        await pilot.press("p")
        assert app.screen is screen and app.project is None and app.live_stack is not live
        await until(pilot, lambda: not any(t.is_alive() for t in opened), what="B's threads to end")
        await until(pilot, lambda: engine_sockets() <= sockets_before, what="B's engine connections closed")
        assert live.stopped and live.watcher.stopped
        assert screen.rows[table.cursor_key][1].project == b.name  # back on the row just left

        table.move_to(key_of(screen, a.name))
        await pilot.press("enter")
        await until(pilot, lambda: app.project is not None and app.project.name == a.name and app.snapshot
                    and app.table.status_of("mcp-server") and app.table.status_of("mcp-server").stale,
                    what="A's table, its stranded mcp-server marked stale")
        assert set(app.table.rows) == {"vscode", "mcp-server", "backend"}  # none of B's rows kept
        await pilot.press("q")
    assert app.return_code == 0


@pytest.fixture
def first_two(tmp_path, demo_image):
    """Two demo projects whose names sort before any other test's (t…) or tool's: the top rows."""
    made = []
    try:
        for tag in ("0a", "0b"):
            stack = make_stack(tmp_path / tag, "demo", DEMO_PORTS)
            stack.name = f"{tag}{uuid.uuid4().hex[:8]}"
            env = stack.dir / ".env"
            env.write_text(re.sub(r"COMPOSE_PROJECT_NAME=\S+", f"COMPOSE_PROJECT_NAME={stack.name}", env.read_text()))
            made.append(stack)
            stack.up()
        yield made
    finally:
        for stack in made:
            stack.down()


def test_the_command_outside_any_project_lists_opens_and_comes_back(first_two, tmp_path):
    """`stacktui` in a folder with no compose file, in a real terminal: the projects screen, Enter opens
    the project under the cursor (its header names project and engine), `p` comes back, q quits."""
    from tests.test_ui_tmux import ROOT, Tmux

    a, b = first_two
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    tmux = Tmux()
    command = Path(sys.executable).parent / "stacktui"
    env = {"DOCKER_HOST": os.environ["DOCKER_HOST"], "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    line = (f"cd {shlex.quote(str(nowhere))} && env -u COLUMNS -u LINES "
            f"{' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} {shlex.quote(str(command))}; "
            "echo STACKTUI-EXIT=$?; exec sleep 120")
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", tmux.session, "-x", "150", "-y", "50", "sh", "-c", line)
    try:
        # The rows can come in the first frame or a row per project a moment later: wait for both.
        screen = tmux.wait_for("projects on", a.name, b.name)
        rows = [m.group(1) for ln in screen.splitlines() if (m := re.match(r"\s*(\S+)\s+unix://", ln))]
        assert rows[:2] == [a.name, b.name]  # sorted by name: the cursor starts on A
        tmux.keys("Enter")
        tmux.wait_for(f"project {a.name}", "engine unix://")
        tmux.wait_for("shares vscode")  # A's own table
        tmux.keys("p")
        tmux.wait_for("projects on", a.name, b.name)
        tmux.keys("q")
        screen = tmux.wait_for("STACKTUI-EXIT=", timeout=20)
        assert "STACKTUI-EXIT=0" in screen and "Traceback" not in screen
    finally:
        tmux.kill()


async def test_p_in_a_project_folder_opens_the_projects_screen_on_that_projects_row(two_demos, monkeypatch):  # noqa: F811
    """Started in A's folder: A's table first; `p` shows every project, A's row selected; Enter on B opens B."""
    from stacktui.cli import build_parser
    from stacktui.commands.tui import build_app

    a, b = two_demos
    monkeypatch.chdir(a.dir)
    args = build_parser().parse_args(["tui"])
    app = build_app(Context.from_args(args), args)
    screen = app.projects_screen
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, lambda: app.project is not None and app.table.status_of("mcp-server"), what="A's table")
        assert app.project.name == a.name and app.screen is not screen
        await pilot.press("p")
        await until(pilot, lambda: app.screen is screen and row_text(screen, a.name) and row_text(screen, b.name),
                    what="the projects screen with both projects")
        await until(pilot, lambda: screen.selected() and screen.selected()[1].project == a.name,
                    what="A's row selected")
        screen.table.move_to(key_of(screen, b.name))
        await pilot.press("enter")
        await until(pilot, lambda: app.project is not None and app.project.name == b.name
                    and app.table.status_of("mcp-server"), what="B's table")
        await pilot.press("q")
    assert app.return_code == 0
