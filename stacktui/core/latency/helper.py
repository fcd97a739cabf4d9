"""The small process that times requests from inside one network namespace.

    python -I -S -c BOOT ROOT   (a job as JSON on stdin, the samples as JSON on stdout)

It enters the namespace with setns(2) on /proc/PID/ns/net (network only: it keeps the host's
files and Python, so nothing is needed inside the image and nothing is exec'd in a container),
then asks each path in turn, `count` times, the asks spread evenly over `spread` seconds and
stopped at `deadline` whatever is left. A job without a namespace runs where it is: the host.

Per path and per ask: a TCP connect, timed to the end of the handshake; then, when the path
has an HTTP path, a whole request as a new client makes it: the name resolved through the
engine's DNS (a bridge path; a literal address costs nothing), a connect, `GET` over HTTP/1.0,
the answer read to its end. A name that resolves to an address the job does not allow (not
one of the stack's own containers) fails that ask, and nothing is sent there.

Standard library only, and only dns.py of stacktui: it runs with `-I -S`, in a second or two.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any

from stacktui.core.latency.dns import resolve

CLONE_NEWNET = 0x40000000
MAX_ANSWER = 1 << 16  # bytes of an HTTP answer read; a health answer is a few dozen

# The parent starts the helper with this: the checkout's root first on the path, nothing from site.
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from stacktui.core.latency.helper import main; sys.exit(main())"


def enter(netns: str) -> None:
    """setns(2) into the network namespace behind `netns` (a /proc/PID/ns/net path); OSError if refused."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


class Tally:
    """The samples of one figure of one path: times in ms of the asks that worked, and why the others failed."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.failed = 0
        self.errors: dict[str, int] = {}

    def fail(self, why: str) -> None:
        self.failed += 1
        self.errors[why] = self.errors.get(why, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {"ms": [round(v, 4) for v in self.ms], "failed": self.failed, "errors": self.errors}


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


class Path:
    """One path of a job: where to connect (an address, or a name for the DNS), and what to ask."""

    def __init__(self, spec: dict[str, Any], timeout: float) -> None:
        self.id = spec["id"]
        self.name: str | None = spec.get("name")
        self.dns: str | None = spec.get("dns")
        self.address: str | None = spec.get("address")
        self.port = int(spec["port"])
        self.http: str | None = spec.get("http")
        self.host_header = spec.get("host_header") or f"{self.name or self.address}:{self.port}"
        self.allowed = set(spec.get("allowed") or ())
        self.timeout = timeout
        self.connect = Tally()
        self.request = Tally()
        self.lookup = Tally()
        self.resolved: str | None = self.address
        self.refused: str | None = None  # a name that led outside the stack: nothing more is asked
        self.not_run = 0

    def _where(self, timed: bool = True) -> str | None:
        """The address to use now: a name is looked up (and timed) on every ask, as a new client does.
        The first lookup, for the first connect, is not timed: the request after it is, with its own."""
        if self.address is not None:
            return self.address
        assert self.name is not None and self.dns is not None
        started = time.perf_counter()
        try:
            found = resolve(self.name, self.dns, self.timeout)
        except OSError as exc:
            self.lookup.fail(_why(exc))
            return None
        if found is None:
            self.lookup.fail(f"{self.name} did not resolve")
            return None
        if timed:
            self.lookup.ms.append((time.perf_counter() - started) * 1000)
        if found not in self.allowed:
            self.refused = f"{self.name} resolved to {found}, not one of the stack's containers: not contacted"
            return None
        self.resolved = found
        return found

    def ask_connect(self, address: str) -> None:
        started = time.perf_counter()
        try:
            s = socket.create_connection((address, self.port), timeout=self.timeout)
        except OSError as exc:
            self.connect.fail(_why(exc))
            return
        self.connect.ms.append((time.perf_counter() - started) * 1000)
        s.close()

    def ask_http(self) -> None:
        started = time.perf_counter()
        address = self._where()
        if address is None:
            self.request.fail("not contacted: resolved outside the stack" if self.refused else "no address")
            return
        try:
            with socket.create_connection((address, self.port), timeout=self.timeout) as s:
                s.settimeout(self.timeout)
                s.sendall(f"GET {self.http} HTTP/1.0\r\nHost: {self.host_header}\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while len(answer) < MAX_ANSWER:
                    chunk = s.recv(MAX_ANSWER)
                    if not chunk:
                        break
                    answer += chunk
        except OSError as exc:
            self.request.fail(_why(exc))
            return
        elapsed = (time.perf_counter() - started) * 1000
        status = answer[9:12] if answer.startswith(b"HTTP/") else b""
        if not status.isdigit():
            self.request.fail("not an HTTP answer")
        elif int(status) >= 400:
            self.request.fail(f"HTTP {int(status)}")
        else:
            self.request.ms.append(elapsed)

    def ask(self) -> None:
        if self.refused is not None:
            self.not_run += 1
            return
        address = self.address if self.address is not None else (self.resolved or self._where(timed=False))
        if self.refused is not None:
            self.not_run += 1
            return
        if address is None:
            self.connect.fail("no address")
        else:
            self.ask_connect(address)
        if self.http:
            self.ask_http()

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "address": self.resolved, "connect": self.connect.to_json(), "not_run": self.not_run,
               "refused": self.refused}
        if self.http:
            out["http"] = self.request.to_json()
        if self.name is not None:
            out["lookup"] = self.lookup.to_json()
        return out


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Every path of the job, `count` asks each, spread over `spread` seconds, within `deadline` seconds
    (or until `until`, a wall-clock time, when the caller's own limit is nearer: its clock ran
    while this process started)."""
    started = time.monotonic()
    netns = job.get("netns")
    if netns:
        try:
            enter(netns)
        except OSError as exc:
            return {"error": f"cannot enter the network namespace {netns}: {exc.strerror or exc}"}
    count = max(int(job.get("count", 200)), 1)
    spread = max(float(job.get("spread", 2.0)), 0.0)
    stop_at = started + float(job.get("deadline", 10.0))
    if job.get("until") is not None:
        stop_at = min(stop_at, started + float(job["until"]) - time.time())
    paths = [Path(p, float(job.get("request_timeout", 1.0))) for p in job["paths"]]
    step = spread / count
    for i in range(count):
        due = started + i * step
        now = time.monotonic()
        if now >= stop_at:
            for p in paths:
                p.not_run += count - i
            break
        if due > now:
            time.sleep(min(due, stop_at) - now)
        for p in paths:
            p.ask()
    return {"paths": [p.to_json() for p in paths], "elapsed_s": round(time.monotonic() - started, 3)}


def main() -> int:
    job = json.loads(sys.stdin.read())
    json.dump(run(job), sys.stdout)
    return 0
