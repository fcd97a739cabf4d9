"""The projects screen on the real engine: both projects listed, a raw restart shows the stale pair, Enter picks."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from stacktui.core.engine.client import Engine
from stacktui.core.engine.endpoint import resolve
from stacktui.ui.projects import ProjectsApp
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


def row_text(app: ProjectsApp, project: str) -> list[str] | None:
    table = app.query_one("DataTable")
    for key, (_, summary) in app.rows.items():
        if summary.project == project:
            return [str(cell) for cell in table.get_row(key)]
    return None


async def test_projects_screen_lists_follows_events_and_opens(two_demos, engine):  # noqa: F811
    a, b = two_demos
    endpoint = resolve()
    app = ProjectsApp([endpoint], Engine.connect)
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, lambda: row_text(app, a.name) and row_text(app, b.name), what="both projects listed")
        assert row_text(app, a.name)[1:] == [endpoint.label, "3", "3/3", "3", "0", ""]
        assert endpoint.label in str(app.query_one("#topbar").render())

        subprocess.run(["docker", "restart", "-t", "1", a.container(engine, "vscode").id], check=True,
                       capture_output=True, timeout=60)
        await until(pilot, lambda: row_text(app, a.name)[6] == "\u26a0 stale: mcp-server",
                    what="A's row marked stale by the engine's events")
        assert row_text(app, a.name)[5] == "1" and row_text(app, b.name)[5] == "0"

        table = app.query_one("DataTable")
        table.move_cursor(row=table.get_row_index(next(k for k, (_, s) in app.rows.items() if s.project == b.name)))
        await pilot.press("enter")
        await pilot.pause()
    choice = app.return_value
    assert choice is not None and choice.project == b.name and choice.endpoint == endpoint
    assert choice.engine.project_containers(b.name)  # handed over still open, for the project's screen
    app.close_engines()


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
        tmux.wait_for(b.name)
        screen = tmux.wait_for(a.name)  # rows arrive as each project is listed: wait for both
        assert "projects on" in screen
        rows = [m.group(1) for ln in screen.splitlines() if (m := re.match(r"\s*(\S+)\s+unix://", ln))]
        assert rows[:2] == [a.name, b.name]  # sorted by name: the cursor starts on A
        tmux.keys("Enter")
        screen = tmux.wait_for(f"project {a.name}")
        assert "engine unix://" in screen
        tmux.wait_for("shares vscode")  # A's own table
        tmux.keys("p")
        tmux.wait_for("projects on")
        tmux.wait_for(b.name)  # the listing comes a moment after the screen, a row per project
        tmux.wait_for(a.name)
        tmux.keys("q")
        screen = tmux.wait_for("STACKTUI-EXIT=", timeout=20)
        assert "STACKTUI-EXIT=0" in screen and "Traceback" not in screen
    finally:
        tmux.kill()
