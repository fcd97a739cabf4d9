"""Is the stack answering? Polls taken on a fixed period in a thread, and what they add up to.

Used by the working-again row (bench_working.py) and the layout-switch downtime row
(bench_layout.py). A probe is a callable returning True when its URL answered 2xx/3xx; a poll
asks every probe in turn and counts as up only when all of them answered.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 0.5


def host_get_ok(port: int, path: str = "/health", host: str = "127.0.0.1") -> bool:
    """GET through a published host port: raw socket, HTTP/1.0 (no client library in the loop)."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            s.settimeout(TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            head = s.recv(64)
        return head.startswith(b"HTTP/") and head[9:10] in (b"2", b"3")
    except OSError:
        return False


class NamespaceProbe:
    """bench/nsprobe.py running inside a container's network namespace (nsenter -n), asked per poll."""

    def __init__(self, pid: int, host: str, port: int, path: str = "/health") -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(["nsenter", "-t", str(pid), "-n", sys.executable, "-m", "bench.nsprobe",
                                      host, str(port), path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            self.proc.stdin.write("?\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the namespace probe exited (the container's namespace is gone?)")
        return answer.strip() == "1"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> "NamespaceProbe":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def container_pid(container_id: str) -> int:
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container_id], capture_output=True,
                         text=True, timeout=30, check=True).stdout.strip()
    pid = int(out or 0)
    if pid <= 0:
        raise RuntimeError(f"container {container_id[:12]} is not running (no pid)")
    return pid


@dataclass
class Poller:
    """Polls `probes` every `period` seconds in a thread; records (perf_counter, up)."""

    probes: Sequence[Callable[[], bool]]
    period: float
    polls: list[tuple[float, bool]] = field(default_factory=list)
    answers: list[tuple[bool, ...]] = field(default_factory=list)  # each probe's answer, per poll
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def poll_once(self) -> bool:
        return all(self._ask())

    def _ask(self) -> tuple[bool, ...]:
        return tuple(p() for p in self.probes)  # every probe asked each time, not cut short

    def start(self) -> "Poller":
        def loop() -> None:
            tick = time.perf_counter()
            while not self._stop.is_set():
                at = time.perf_counter()
                answers = self._ask()
                self.answers.append(answers)
                self.polls.append((at, all(answers)))
                tick += self.period
                now = time.perf_counter()
                if tick < now:  # a slow poll: start the next at once, do not try to catch up
                    tick = now
                self._stop.wait(tick - now)

        self._thread = threading.Thread(target=loop, daemon=True, name="poller")
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, bool]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        return list(self.polls)

    def up_for(self, since: float, seconds: float) -> bool:
        """Every poll since `since` was up, and they cover at least `seconds`."""
        recent = [(t, ok) for t, ok in list(self.polls) if t >= since]
        return bool(recent) and all(ok for _, ok in recent) and recent[-1][0] - recent[0][0] >= seconds


def back_at(polls: list[tuple[float, bool]]) -> float | None:
    """Time of the first up poll after the last down one; None if it never went down or never came back."""
    last_down = max((i for i, (_, ok) in enumerate(polls) if not ok), default=None)
    if last_down is None or last_down + 1 >= len(polls):
        return None
    return polls[last_down + 1][0]


def longest_gap(polls: list[tuple[float, bool]]) -> tuple[float, float, float]:
    """The longest window without an answer: (seconds, last up before it, first up after it).

    Measured between answered polls, so a window is at least one period long when any poll
    failed and 0 when none did.
    """
    best = (0.0, 0.0, 0.0)
    last_up: float | None = None
    missed = False
    for t, ok in polls:
        if ok:
            if missed and last_up is not None and t - last_up > best[0]:
                best = (t - last_up, last_up, t)
            last_up, missed = t, False
        else:
            missed = True
    return best
