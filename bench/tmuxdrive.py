"""Drive a real program in a real terminal: a private tmux server, its screen read with capture-pane.

Both stacktui and lazydocker are measured this way, so they pay the same
terminal costs. Each Terminal uses its own tmux socket (`tmux -L`), so nothing
here touches a tmux server someone else runs, and closing it kills only what
it started.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import psutil

POLL_MIN, POLL_MAX = 0.01, 0.05  # seconds between screen reads


def poll_interval(waited: float) -> float:
    """Read often early, less later: about 5% resolution, and the observer's own CPU (one
    tmux capture-pane process per read, on a 2-core machine) stays small during long waits."""
    return min(POLL_MAX, max(POLL_MIN, waited / 20))


class ScreenTimeout(RuntimeError):
    """What we waited for never appeared; carries the last screen for the report."""

    def __init__(self, what: str, screen: str) -> None:
        super().__init__(f"timed out waiting for {what}; last screen:\n{screen.rstrip()}")
        self.screen = screen


@dataclass
class Terminal:
    """One program in one tmux pane of a fixed size."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    width: int = 200
    height: int = 50
    socket: str = field(default_factory=lambda: f"stkbench-{uuid.uuid4().hex[:8]}")
    started_at: float = 0.0  # perf_counter just before tmux was asked to start the program
    on_close: Callable[[], None] | None = None  # called once the program and tmux are gone

    def _tmux(self, *args: str, timeout: float = 10, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=timeout, check=check)

    def start(self) -> "Terminal":
        if not have_tmux():
            raise FileNotFoundError("tmux is missing: the terminal benchmarks drive both tools in tmux "
                                    "(apt-get install tmux)")
        # `env -i`-like control: tmux passes its own environment to the pane's shell; we exec the
        # program through `env` so the variables we were given win, and TERM is the same for both tools.
        env_args = [f"{k}={v}" for k, v in {"TERM": "xterm-256color", **self.env}.items()]
        command = " ".join(shlex.quote(a) for a in ["env", *env_args, *self.argv])
        self.started_at = time.perf_counter()
        # remain-on-exit: a program that exits at once keeps its pane, so its last words can be read.
        self._tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height),
                   "-c", str(self.cwd), "exec " + command, ";", "set-option", "-w", "remain-on-exit", "on")
        return self

    @property
    def pid(self) -> int:
        out = self._tmux("display-message", "-p", "#{pane_pid}").stdout.strip()
        return int(out)

    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def screen(self) -> str:
        done = self._tmux("capture-pane", "-p", "-J", check=False)
        return done.stdout

    def send(self, *keys: str) -> float:
        """Send keys (tmux key names, e.g. "Down", "Enter", "l"); returns perf_counter at sending."""
        t = time.perf_counter()
        self._tmux("send-keys", *keys)
        return t

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> tuple[float, str]:
        """Poll the screen until predicate holds; perf_counter of the first screen that satisfied it."""
        start = time.perf_counter()
        deadline = start + timeout
        screen = ""
        while True:
            screen = self.screen()
            now = time.perf_counter()
            if predicate(screen):
                return now, screen
            if now > deadline:
                raise ScreenTimeout(what, screen)
            if self.dead():
                raise ScreenTimeout(f"{what} (the program exited)", screen)
            time.sleep(poll_interval(now - start))

    def dead(self) -> bool:
        out = self._tmux("display-message", "-p", "#{pane_dead}", check=False).stdout.strip()
        return out == "1"

    def close(self) -> None:
        """Kill the pane's program (and its children) and the private tmux server."""
        try:
            root = self.process()
            procs = [root, *root.children(recursive=True)]
        except (psutil.Error, ValueError, subprocess.SubprocessError):
            procs = []
        for p in procs:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=3)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        self._tmux("kill-server", check=False)
        # kill-server leaves the socket file behind.
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (tmpdir / self.socket).unlink(missing_ok=True)
        if self.on_close is not None:
            self.on_close()

    def __enter__(self) -> "Terminal":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def tree_cpu_seconds(root: psutil.Process) -> float:
    """CPU seconds of a process and all its descendants, including children that already exited.

    A reaped child's time moves into its parent's children_user/children_system, so summing
    all four fields over the live tree counts short-lived helpers (lazydocker's `docker compose`
    calls) without counting anything twice.
    """
    total = 0.0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return total
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def tree_rss_bytes(root: psutil.Process) -> int:
    """Resident memory of a process and its live descendants."""
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def have_tmux() -> bool:
    return shutil.which("tmux") is not None
