"""`stacktui serve` in a real browser: Debian's chromium, headless, driven by Debian's chromium-driver
through selenium, offline, on the demo stack and the real engine.

The page draws the terminal with xterm.js on a canvas, so the DOM holds no text of the app. What the
page shows is read from what the page received: every websocket frame the browser got (chromium's
own network log, through the driver) fed to a terminal emulator (pyte) of the size the page asked
for. Keys go in as a user's do: typed into the page's terminal.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import psutil
import pyte
import pytest

from tests.conftest import free_port
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Served:
    """`stacktui serve` running in a folder, its stderr collected."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = cli_env(NO_COLOR="1")
        self.proc = subprocess.Popen([*STACKTUI, "serve", *args], cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_listening(self, port: int) -> None:
        until(lambda: f"open http://127.0.0.1:{port}/" in self.text() or self.proc.poll() is not None, 60,
              "serve to listen")
        assert self.proc.poll() is None, self.text()

    def finish(self) -> int:
        """Wait for serve to end by itself (a refusal), and for the last of its output."""
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            self._reader.join(timeout=10)


class Page:
    """A headless chromium on one URL, and the terminal screen its websocket frames draw."""

    def __init__(self, url: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None
        self.pending: list[bytes] = []
        self.driver.get(url)

    def _drain(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            response = message.get("params", {}).get("response", {})
            if message["method"] == "Network.webSocketFrameSent" and self.screen is None:
                sent = json.loads(response["payloadData"])
                if sent[0] == "resize":  # the page's terminal size: the screen the app draws for
                    self.screen = pyte.Screen(sent[1]["width"], sent[1]["height"])
                    self.stream = pyte.ByteStream(self.screen)
            elif message["method"] == "Network.webSocketFrameReceived" and response.get("opcode") == 2:
                self.pending.append(base64.b64decode(response["payloadData"]))
        if self.stream is not None:
            for data in self.pending:
                self.stream.feed(data)
            self.pending.clear()

    def text(self) -> str:
        self._drain()
        return "\n".join(self.screen.display) if self.screen is not None else ""

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        seen = [""]

        def shown() -> str | None:
            seen[0] = self.text()
            return seen[0] if all(t in seen[0] for t in texts) else None

        try:
            return until(shown, timeout, " and ".join(map(repr, texts)) + " in the page", step=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{seen[0]}") from None

    def type(self, keys: str) -> None:
        """Typed into the page's terminal (xterm.js takes keys through its helper textarea)."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(keys)

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture
def page_factory() -> Iterator:
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        "chromium and chromium-driver are needed (scripts/devengine.py tools installs them)"
    pages: list[Page] = []

    def make(url: str) -> Page:
        pages.append(Page(url))
        return pages[-1]

    yield make
    for page in pages:
        page.close()


@pytest.mark.xdist_group(name="browser")
def test_the_page_shows_the_services_and_a_typed_key_restarts_one(demo_stack, engine, page_factory):
    port = free_port()
    served = Served(demo_stack.dir, "--port", str(port))
    try:
        served.wait_listening(port)
        page = page_factory(f"http://127.0.0.1:{port}/")
        screen = page.wait_for(f"project {demo_stack.name}", "vscode", "mcp-server", "backend", "\u2714 healthy")
        rows = {line.split()[0]: line for line in screen.splitlines() if line.split()}
        assert "shares vscode" in rows["mcp-server"], screen

        before = demo_stack.container(engine, "vscode").started_at
        page.type("r")  # the first row, vscode, is selected: its restart plan
        page.wait_for("1. restart vscode", "2. restart mcp-server", "y / enter run")
        page.type("y")
        until(lambda: demo_stack.container(engine, "vscode").started_at != before, 60,
              "vscode's container to be started again")
        page.wait_for("enter / esc close")  # the plan ran to its end in the page

        sessions = psutil.Process(served.proc.pid).children(recursive=True)
        assert any("tui" in p.cmdline() for p in sessions), [p.cmdline() for p in sessions]
    finally:
        code = served.stop()
    assert code == 0, served.text()
    # Stopped with a browser still connected: its session was ended and reaped with the server.
    assert not [p.pid for p in sessions if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_port_in_use_names_the_process_holding_it(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        served = Served(tmp_path, "--port", str(port))
        code = served.finish()
    finally:
        holder.close()
    assert code == 2, served.text()
    assert served.text().strip().splitlines()[-1] == (
        f"stacktui: port {port} on 127.0.0.1 is in use by pid {os.getpid()} ({psutil.Process().name()}) "
        "(choose another with --port N, or stop that program)")


def test_an_address_other_than_loopback_is_warned_about_with_the_ssh_tunnel(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:  # held, so that serve stops after its warning instead of listening on every address
        served = Served(tmp_path, "--host", "0.0.0.0", "--port", str(port))
        code = served.finish()
    finally:
        holder.close()
    lines = served.text().strip().splitlines()
    assert lines[0].startswith(f"stacktui serve: WARNING: listening on 0.0.0.0:{port}. The page has no login"), lines
    assert f"ssh -L {port}:127.0.0.1:{port}" in lines[0]
    assert code == 2 and "is in use by" in lines[-1]


@pytest.mark.xdist_group(name="browser")
def test_a_killed_serve_takes_its_sessions_along(tmp_path, docker_host, page_factory):
    port = free_port()
    served = Served(tmp_path, "--port", str(port))  # outside any project: the session shows the projects screen
    sessions: list[psutil.Process] = []
    try:
        served.wait_listening(port)
        page = page_factory(f"http://127.0.0.1:{port}/")
        page.wait_for("projects on")
        sessions += [p for p in psutil.Process(served.proc.pid).children(recursive=True) if "tui" in p.cmdline()]
        assert sessions
        served.proc.kill()  # no chance to end them itself
        served.proc.wait(timeout=30)
        until(lambda: not [p for p in sessions if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], 30,
              "the session to end after its server was killed")
    finally:
        served.stop()
        for proc in sessions:  # left behind only when this test fails
            if proc.is_running():
                proc.kill()


def test_a_compose_file_that_does_not_load_is_said_once_before_serving(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n   bad: [\n")
    served = Served(tmp_path, "--port", str(free_port()))
    assert served.finish() == 2
    assert served.text().strip().startswith(f"stacktui: {tmp_path / 'compose.yaml'}:4: invalid YAML"), served.text()
