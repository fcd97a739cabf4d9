"""The installed `stacktui` in a real terminal (tmux): it draws, answers keys, survives hostile
output, and quits cleanly with q.

tmux runs on a private server socket with `set-clipboard on`, so an OSC 52 that
reached the terminal would show up as a tmux paste buffer, and an OSC 0 as the
pane title.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.test_ui_live import HOSTILE_SCRIPT
from tests.waiting import until

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_OVERRIDE = """\
services:
  hostile:
    image: ${STACKTUI_DEMO_IMAGE:-stacktui-demo:0.1.0}
    command: ["sh", "/hostile.sh"]
    network_mode: none
    init: true
    volumes:
      - ./hostile.sh:/hostile.sh:ro
"""


def clean_env() -> dict[str, str]:
    """This process's environment without COLUMNS and LINES.

    Inside pytest a subprocess inherits COLUMNS=80 and LINES=24 although os.environ has
    neither (something in the session sets them at the C level); Textual would take them
    over the pane's real size. An explicit env= hands the child exactly this dict.
    """
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


class Tmux:
    def __init__(self) -> None:
        self.socket = f"stktui-{uuid.uuid4().hex[:8]}"
        self.session = "app"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check,
                              timeout=20, env=clean_env())

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        """The first capture holding every one of texts (a capture can catch a frame half drawn, so
        texts asserted together are waited for together)."""
        seen = [""]

        def shown() -> str | None:
            seen[0] = self.screen()
            return seen[0] if all(text in seen[0] for text in texts) else None

        try:
            return until(shown, timeout, " and ".join(map(repr, texts)) + " on screen", step=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{seen[0]}") from None

    def wait_gone(self, text: str, timeout: float = 10.0) -> None:
        """Until text is off the screen. A key typed while a dialog is still closing goes to the
        dialog's widgets, which Textual drops with the dialog: a user sees it close first."""
        until(lambda: text not in self.screen(), timeout, f"{text!r} to leave the screen", step=0.1)

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux():
    assert shutil.which("tmux"), "tmux is needed for this test (the Makefile's setup installs it)"
    t = Tmux()
    yield t
    t.kill()


def test_the_installed_command_runs_in_a_terminal_and_quits_with_q(demo_stack, tmux):
    (demo_stack.dir / "hostile.sh").write_text(HOSTILE_SCRIPT)
    (demo_stack.dir / "compose.override.yaml").write_text(HOSTILE_OVERRIDE)
    demo_stack.compose("-f", str(demo_stack.dir / "compose.override.yaml"), "up", "-d", "hostile")
    command = Path(sys.executable).parent / "stacktui"  # the venv's console script
    env = {"DOCKER_HOST": os.environ["DOCKER_HOST"], "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
           "COLORTERM": "truecolor"}
    line = (f"cd {shlex.quote(str(demo_stack.dir))} && env -u COLUMNS -u LINES {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} "
            f"{shlex.quote(str(command))}; echo STACKTUI-EXIT=$?; exec sleep 120")
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40", "sh", "-c", line)
    tmux.run("set-option", "-g", "set-clipboard", "on")
    title_before = tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_title}").stdout.strip()
    try:
        screen = tmux.wait_for("\u2714 healthy", f"project {demo_stack.name}", "vscode", "mcp-server", "backend",
                               "hostile", "shares vscode")
        tmux.wait_for("logs mcp-server")
        tmux.wait_for("tool call")  # the log pane follows mcp-server by default

        size = tmux.run("display-message", "-p", "-t", tmux.session, "#{window_width}x#{window_height}").stdout
        assert size.strip() == "120x40"
        assert max(len(row) for row in screen.splitlines()) > 100  # the app uses the terminal's real width
        tmux.keys("Down", "Down", "Down", "Enter")  # the hostile service's own logs: drawn on this terminal now
        screen = tmux.wait_for("END-OF-HOSTILE")
        assert "[bold red]H[/] [@click=app.quit]I[/]" in screen
        assert "J\u2400K" in screen and "L\ufffd\ufffdM" in screen
        assert "pwned" not in screen and "evil.example" not in screen
        assert tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_title}").stdout.strip() == title_before
        assert tmux.run("list-buffers").stdout.strip() == ""  # no OSC 52 reached the terminal
        tmux.keys("m")  # merged: every service, each line with its name
        screen = tmux.wait_for("vscode     \u2502")

        tmux.keys("/")
        tmux.wait_for("search the log")  # typed before the field has the focus, letters would be keys
        tmux.keys("-l", "heartbeat")
        tmux.keys("Enter")
        tmux.wait_for("\u2315 heartbeat")  # ⌕ heartbeat: n/m in the log title

        tmux.keys("?")
        tmux.wait_for("stacktui keys")
        tmux.keys("Escape")
        tmux.wait_gone("stacktui keys")

        tmux.keys("q")
        screen = tmux.wait_for("STACKTUI-EXIT=", timeout=20)
        assert "STACKTUI-EXIT=0" in screen
        assert "Traceback" not in screen
    finally:
        tmux.kill()
        demo_stack.compose("-f", str(demo_stack.dir / "compose.override.yaml"), "down", "-t", "0", check=False)
