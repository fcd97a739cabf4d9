"""Hostile logs (issue 9, case 5), on compose/hostile: the screen shows only their text and the app
stays responsive.

tests/test_ui_live.py and tests/test_ui_tmux.py already prove the escape sequences and markup
render as their text in the log view, and that a real terminal's title and clipboard stay
untouched. These add what they leave out: a single 10 MB line, a flood of 150,000 lines at
the engine's full speed (~150-200k lines/s here) during which keys still work and no line is
lost, and a real terminal whose screen the sequences would wipe or move (ESC c, ESC[2J,
the alternate screen) still showing the app's own top bar and table.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from textual import events

from stacktui.core.live.store import LogStore
from stacktui.core.sanitize import STORE_LIMIT
from stacktui.ui.modals import HelpScreen
from tests.conftest import ROOT
from tests.test_faults_tui import app_for, select, until
from tests.waiting import on_screen
from tests.test_ui_tmux import tmux  # noqa: F401  (the fixture)

# Long enough that the engine is still writing it when the key below is answered, even when
# stacktui keeps up with it: 150,000 lines were once all in before the help screen was up.
FLOOD = 400_000
ROTATING = 100_000
SHOWN = ["AB", "CD", "E", "F", "G", "H", "I",
         "[bold red]J[/] [@click=app.quit]K[/] [link=http://evil.example/]L[/]",
         "M\u2400N", "O\ufffd\ufffdP", "Qred", "R\u240dS\u2408T", "END-OF-HOSTILE"]


class CountingStore(LogStore):
    """The app's store, counting every line it is handed (it keeps only the last max_lines)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: Counter[str] = Counter()
        self.rotating: list[str] = []  # every line of the service whose log the engine rotates

    def append(self, service, lines):  # type: ignore[no-untyped-def]
        lines = list(lines)
        self.received[service] += len(lines)
        if service == "rotating":
            self.rotating += [line.text for line in lines if not line.is_event]
        return super().append(service, lines)


@pytest.fixture
def hostile(stack_factory):
    stack = stack_factory("hostile")
    (stack.dir / ".env").write_text((stack.dir / ".env").read_text() + f"HOSTILE_FLOOD_LINES={FLOOD}\n"
                                    f"HOSTILE_ROTATING_LINES={ROTATING}\n")
    (stack.dir / "trigger" / "go").unlink(missing_ok=True)
    stack.up()
    return stack


async def test_a_10_mb_line_and_a_flood_leave_the_app_answering_keys_and_lose_no_line(hostile, engine):
    store = CountingStore()
    app = app_for(hostile, engine, store=store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.pane.log_view
            await until(pilot, lambda: "END-OF-HOSTILE" in view.lines, what="the hostile lines")
            assert list(view.lines) == SHOWN

            await select(pilot, app, "longline")
            await pilot.press("l")
            await until(pilot, lambda: "after the long line" in view.lines, what="the line after the long one")
            assert view.lines[view.lines.index("after the long line") - 2] == "before the long line"
            long = view.lines[view.lines.index("after the long line") - 1]
            assert long.startswith("x" * 2000) and long.endswith(f" \u2026 [{STORE_LIMIT - 2000:,} more characters]")
            stored = [line.text for line in app.store.lines("longline") if line.text.startswith("x")]
            assert len(stored) == 1 and len(stored[0]) == STORE_LIMIT, "one line, kept bounded"

            await select(pilot, app, "flood")
            await pilot.press("l")
            await until(pilot, lambda: "flood: waiting for /trigger/go" in view.lines, what="the flood's first line")
            started = time.monotonic()
            (hostile.dir / "trigger" / "go").touch()
            await until(pilot, lambda: store.received["flood"] > 15_000, what="the flood reaching the app")
            # Mid-flood, a key opens the help and another closes it. The key goes into the app's
            # queue as a terminal would deliver it: Pilot.press also waits for every widget to
            # go idle, which a flooding log does not (1.5-2 s here), and the flood could end first.
            app.post_message(events.Key("question_mark", "?"))
            await until(pilot, lambda: on_screen(app, HelpScreen), timeout=5, what="the help, mid-flood",
                        step=0.01)
            assert store.received["flood"] < FLOOD, "the flood was still on when the key was answered"
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen), timeout=5, what="the help to close")
            await until(pilot, lambda: view.lines and view.lines[-1] == "flood: done", timeout=90, what="the end")
            took = time.monotonic() - started
            assert store.received["flood"] == FLOOD + 3, "every line arrived once: waiting, start, the flood, done"
            assert view.lines[-2] == f"flood line {FLOOD}"
            assert len(app.store.lines("flood")) <= app.store.max_lines

            # The rotated log: the engine's follow stream skips and repeats parts of it, and at
            # times stalls before its end. What stacktui passed on is each line once, in order.
            await until(pilot, lambda: "flood: done" in engine.logs_tail(hostile.container(engine, "rotating").id, 1)[-1],
                        what="the rotating flood to end (as `docker logs` sees it)")
            seen = -1
            while seen != len(store.rotating):  # until a pause of a second brings nothing more
                seen = len(store.rotating)
                await pilot.pause(1.0)
            assert seen > 0
            numbers = [int(text.rsplit(" ", 1)[1]) for text in store.rotating if text.startswith("flood line")]
            assert numbers == sorted(set(numbers)), "no line twice, none out of order"
            print(f"rotating: the engine's follow stream delivered {len(numbers):,} of {ROTATING:,} lines")
            print(f"flood: {FLOOD:,} lines in {took:.1f} s ({FLOOD / took:,.0f} lines/s from the engine to the view)")
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        app.stop_core()


def test_a_real_terminal_keeps_its_screen_title_and_clipboard_through_a_flood(hostile, tmux):
    command = Path(sys.executable).parent / "stacktui"  # the venv's console script
    env = {"DOCKER_HOST": os.environ["DOCKER_HOST"], "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    line = (f"cd {shlex.quote(str(hostile.dir))} && env -u COLUMNS -u LINES "
            f"{' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} {shlex.quote(str(command))}; "
            "echo STACKTUI-EXIT=$?; exec sleep 120")
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40", "sh", "-c", line)
    tmux.run("set-option", "-g", "set-clipboard", "on")
    title = tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_title}").stdout.strip()

    def intact(screen: str) -> None:
        rows = screen.splitlines()
        assert rows and f"stacktui  project {hostile.name}" in rows[0], "the top bar is where the app drew it"
        assert any("hostile" in r for r in rows[:8]) and any("flood" in r for r in rows[:8]), "the table too"
        assert "pwned" not in screen and "cHduZWQ" not in screen, "no title or clipboard payload shown either"
        assert tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_title}").stdout.strip() == title
        assert tmux.run("list-buffers").stdout.strip() == "", "no OSC 52 reached the terminal's clipboard"
        assert tmux.run("display-message", "-p", "-t", tmux.session, "#{alternate_on}").stdout.strip() == "1", \
            "still on the app's own (alternate) screen"

    screen = tmux.wait_for("END-OF-HOSTILE")  # the first service's logs are shown at start
    for text in SHOWN:
        assert text in screen, text
    intact(screen)

    tmux.keys("Down", "Enter")  # longline
    screen = tmux.wait_for("after the long line")
    assert "before the long line" in screen and "x" * 80 in screen
    intact(screen)

    tmux.keys("Down", "Enter")  # flood
    tmux.wait_for("flood: waiting for /trigger/go")
    (hostile.dir / "trigger" / "go").touch()
    tmux.wait_for("flood line")
    tmux.keys("?")
    tmux.wait_for("stacktui keys", timeout=10)
    tmux.keys("Escape")
    tmux.wait_gone("stacktui keys", timeout=30)  # the app is drawing the flood meanwhile
    screen = tmux.wait_for("flood: done", timeout=90)
    intact(screen)
    tmux.keys("q")
    screen = tmux.wait_for("STACKTUI-EXIT=", timeout=20)
    assert "STACKTUI-EXIT=0" in screen and "Traceback" not in screen


def test_lines_the_engine_replays_after_rotating_its_log_file_are_dropped():
    """dockerd 20.10 resends part of a rotated json-file log into a follow stream (measured here:
    `docker logs -f` printed 1,044,889 lines for a flood of 1,000,003). A stream's times only go
    forward, so an older entry is a replay; entries at the newest time are matched by count."""
    from stacktui.core.engine.logstream import EntryDecoder
    from tests.test_logs import decode_chunks, frame, ts

    decoder = EntryDecoder("flood")
    seen = frame(1, ts(1) + b" a\n") + frame(2, ts(1) + b" err\n") + frame(1, ts(2) + b" b\n") + \
        frame(1, ts(2) + b" c (same time)\n")
    replay = frame(1, ts(1) + b" a\n") + frame(1, ts(2) + b" b\n") + frame(1, ts(2) + b" c (same time)\n")
    new = frame(1, ts(2) + b" d (same time, new)\n") + frame(2, ts(2) + b" err 2\n") + frame(1, ts(3) + b" e\n")
    lines = decode_chunks([seen, replay, new], decoder)
    assert [line.text for line in lines] == ["a", "err", "b", "c (same time)", "d (same time, new)", "err 2", "e"]
