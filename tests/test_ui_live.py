"""The real app on the real engine, driven with Pilot: table, log pane, events, outages, hostile output.

The engine is reached through a unix-socket proxy so that one test can take it
"away" and bring it back without touching the shared engine.
"""
from __future__ import annotations

import re
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from stacktui.core.compose.cli import compose_command
from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.loglines import EVENT
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.logview import LogView
from tests.test_watch import SocketProxy, engine_at
from tests.waiting import until_app


until = until_app  # test_ui_acceptance imports it from here


def target_of(stack_dir: Path, file: Path):
    return resolve_target([str(file)], None, None, [], [], cwd=stack_dir)


def rendered(view: LogView) -> list[tuple[str, list]]:
    """What the log view draws, row by row: the text and the Rich styles of its segments."""
    rows = []
    for y in range(view.size.height):
        strip = view.render_line(y)
        rows.append(("".join(seg.text for seg in strip), [seg.style for seg in strip if seg.style]))
    return rows


async def test_table_and_logs_follow_the_engine_through_stops_and_an_outage(demo_stack, engine):
    target = target_of(demo_stack.dir, demo_stack.file)
    project = load_project(target)
    proxy = SocketProxy(engine.socket_path).up()
    via_proxy = engine_at(proxy.host)
    app = StackApp(project, via_proxy, target=target, probe_interval=2.0)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table, pane = app.table, app.pane
            await until(pilot, lambda: table.status_of("mcp-server") and table.cell_text("mcp-server", "health")
                        == "\u2714 healthy", what="mcp-server healthy in the table")
            assert table.cell_text("mcp-server", "namespace") == "shares vscode"
            assert table.cell_text("vscode", "namespace") == "own"
            assert table.cell_text("mcp-server", "state") == "running"
            assert str(demo_stack.ports["DEMO_MCP_HTTP_PORT"]) in table.cell_text("vscode", "ports")
            assert pane.service == "mcp-server"  # the first service that joins another's namespace

            # New lines reach the pane within a second of the engine stamping them. The best of three
            # (mcp-server logs once a second), so one scheduling hiccup on a busy machine does not decide.
            view = pane.log_view
            delays = []
            for _ in range(3):
                seen_before = len(view.lines)
                await until(pilot, lambda: len(view.lines) > seen_before, what="a new log line", step=0.02)
                appeared = time.time_ns()
                shown = view.lines[-1]
                stored = next(line for line in reversed(app.store.lines("mcp-server")) if line.text == shown)
                delays.append((appeared - stored.key) / 1e9)
            assert min(delays) < 1.0, delays
            assert view.follow and view.is_vertical_scroll_end

            # A stop and a start arrive as events: the table and the log pane both show them.
            demo_stack.compose("stop", "-t", "2", "mcp-server")
            await until(pilot, lambda: table.cell_text("mcp-server", "state").startswith("exited"),
                        what="exited in the table")
            assert table.cell_text("mcp-server", "health") == "\u25a0 down"
            await until(pilot, lambda: any("container exited" in t for t in view.lines), what="exit marker")
            demo_stack.compose("start", "mcp-server")
            await until(pilot, lambda: table.cell_text("mcp-server", "state") == "running", what="running again")
            marker = next(i for i, t in enumerate(view.lines) if "container exited" in t)
            await until(pilot, lambda: "mcp-server: serving" in " ".join(view.lines[marker:]), what="reattached")
            # One container's lines, across the restart: engine times only go forward, nothing twice.
            stored = [(line.key, line.text) for line in app.store.lines("mcp-server") if line.stream != EVENT]
            assert [k for k, _ in stored] == sorted(k for k, _ in stored)
            assert len(set(stored)) == len(stored)

            # c checks now: the engine is listed again and the findings panel says when.
            checked = app.findings_panel.checked_at
            await pilot.press("c")
            await until(pilot, lambda: app.findings_panel.checked_at != checked and not app.findings_panel.checking,
                        what="a fresh check")

            # Merged view, with a prefix per service.
            await pilot.press("m")
            await until(pilot, lambda: any(t.startswith("backend") for t in view.lines), what="merged lines")
            assert {t.split()[0] for t in view.lines if "\u2502" in t} >= {"vscode", "mcp-server", "backend"}

            # Search: / opens the field, enter finds, n/N move, the title counts.
            await pilot.press("slash")
            await pilot.press(*"heartbeat")
            await pilot.press("enter")
            assert pane.matches > 0 and view.current_match is not None
            assert "heartbeat" in view.lines[view.current_match]
            first = view.current_match
            await pilot.press("N")
            assert view.current_match is not None and view.current_match < first
            assert not view.follow  # reading matches pauses the follow
            await pilot.press("f")
            assert view.follow

            # The engine goes away: a banner, then a reconnect, and the streams resume.
            proxy.down()
            banner = app.query_one("#banner")
            await until(pilot, lambda: banner.display, what="the engine-gone banner")
            assert "retrying" in str(banner.content).lower()
            # The app keeps answering keys while the engine is away: t redraws the stored lines with times.
            await pilot.press("t")
            assert pane.timestamps and re.match(r"\d\d:\d\d:\d\d\.\d{3} ", view.lines[-1]), view.lines[-1:]
            await pilot.press("t")
            assert not re.match(r"\d\d:\d\d:\d\d", view.lines[-1])
            proxy.up()
            await until(pilot, lambda: not banner.display, timeout=30, what="the banner to go")
            count = len(app.store.lines("vscode"))
            await until(pilot, lambda: len(app.store.lines("vscode")) > count, what="vscode logs flowing again")

            await pilot.press("q")
        assert app.return_code == 0
        assert not app.watcher.alive
    finally:
        app.stop_core()
        proxy.down()
        via_proxy.close()


HOSTILE_SCRIPT = r"""
printf 'A\033cB\n'
printf 'C\033[2J\033[10;5HD\n'
printf '\033]0;pwned-title\007E\n'
printf '\033]52;c;cHduZWQ=\007F\n'
printf '\033]8;;http://evil.example/\033\\G\033]8;;\033\\\n'
echo '[bold red]H[/] [@click=app.quit]I[/]'
printf 'J\000K\n'
printf 'L\377\376M\n'
printf 'N\033[31mred\033[0m\n'
echo END-OF-HOSTILE
exec sleep 3600
"""
HOSTILE_SHOWN = ["AB", "CD", "E", "F", "G", "[bold red]H[/] [@click=app.quit]I[/]", "J\u2400K", "L\ufffd\ufffdM",
                 "Nred", "END-OF-HOSTILE"]


@pytest.fixture
def hostile_stack(tmp_path: Path, demo_image: str, engine):
    """A one-service project whose container prints terminal attacks and markup once."""
    name = f"t{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "hostile.sh").write_text(HOSTILE_SCRIPT)
    (folder / "compose.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        services:
          hostile:
            image: {demo_image}
            command: ["sh", "/hostile.sh"]
            network_mode: none
            init: true
            volumes:
              - ./hostile.sh:/hostile.sh:ro
        """))
    def compose(*args):
        return subprocess.run([*compose_command(), "-f", str(folder / "compose.yaml"), *args], cwd=folder,
                              capture_output=True, text=True, timeout=120)

    up = compose("up", "-d")
    assert up.returncode == 0, up.stderr
    try:
        yield folder
    finally:
        compose("down", "-t", "0")


async def test_hostile_log_lines_change_nothing_on_screen_but_their_own_text(hostile_stack, engine):
    target = target_of(hostile_stack, hostile_stack / "compose.yaml")
    project = load_project(target)
    app = StackApp(project, engine, target=target, probe_interval=None)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.pane.log_view
            await until(pilot, lambda: "END-OF-HOSTILE" in view.lines, what="the hostile lines")
            assert list(view.lines) == HOSTILE_SHOWN
            rows = rendered(view)
            texts = [text.rstrip() for text, _ in rows if text.strip()]
            assert texts == HOSTILE_SHOWN
            for text, styles in rows:
                assert not any(ch in text for ch in "\x1b\x07\x00\x9b\x9d")
                assert all(not style.link for style in styles)  # no OSC 8 link survives
                assert all(not (style.meta or {}).get("@click") for style in styles)  # no markup actions
            # (OSC 0 and [@click=app.quit] cannot act in a headless app: the texts and styles above
            # show they arrive as text with no action; test_ui_tmux checks the real terminal's title.)
            screen = app.export_screenshot()
            assert "pwned" not in screen and "evil.example" not in screen and "cHduZWQ" not in screen
            # The same in the merged view, where lines carry a service prefix.
            await pilot.press("m")
            await until(pilot, lambda: app.pane.merged and len(view.lines) == len(HOSTILE_SHOWN)
                        and all(" \u2502 " in t for t in view.lines), what="the merged view")
            assert [t.split(" \u2502 ", 1)[1] for t in view.lines] == HOSTILE_SHOWN
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        app.stop_core()
