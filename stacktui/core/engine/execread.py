"""An exec's output read within a deadline, and the exec stopped when the deadline passes.

docker-py's `exec_start` waits for the command to end however long it takes (its socket reads
block without a limit); a command that hangs inside a container (a fetch of an address that
never answers, a shell waiting for input) would hold stacktui with it. Here each read waits at
most until the deadline.
"""
from __future__ import annotations

import socket
import time
from typing import Any

from stacktui.core.errors import StackError
from stacktui.core.durations import seconds


class ExecTimedOut(StackError):
    """A command run in a container did not finish within its time limit."""


def start(socket_path: str, exec_id: str, timeout: float) -> tuple[socket.socket, bytes]:
    """Start a made exec over the engine's socket (local engines): the connection its output comes on,
    and what came with the answer's headers. The engine sends the output framed, then closes."""
    from stacktui.core.engine import rawhttp

    try:
        sock, response = rawhttp.request(socket_path, f"/exec/{exec_id}/start", timeout=timeout, method="POST",
                                         body={"Detach": False, "Tty": False})
    except TimeoutError as exc:
        raise rawhttp.EngineGone(f"the engine did not start exec {exec_id[:12]} within {seconds(timeout)}") from exc
    rawhttp.expect_ok(sock, response, f"exec {exec_id[:12]}")
    return sock, response.body


def read_until(sock: Any, deadline: float, first: bytes = b"") -> bytes:
    """The whole multiplexed output of a hijacked exec socket (stdout and stderr, in order).

    Raises TimeoutError at the deadline. `sock` is what docker-py's exec_start(socket=True)
    returns (a SocketIO over the connection, or the (TLS) socket itself) or start()'s socket,
    with `first`, the output that came with the headers.
    """
    raw = getattr(sock, "_sock", sock)
    data = bytearray(first)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        raw.settimeout(left)
        try:
            chunk = raw.recv(65536)
        except socket.timeout as exc:
            raise TimeoutError from exc
        if not chunk:
            break
        data += chunk
    return _payload(bytes(data))


def _payload(data: bytes) -> bytes:
    """The frames' payloads (8-byte header: stream, 3 zero bytes, big-endian size), joined."""
    out = bytearray()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        out += data[pos + 8:pos + 8 + size]
        pos += 8 + size
    return bytes(out)


def stop_exec_process(pid: int) -> bool:
    """Kill an exec's process and its children by their host pid (the engine is on this machine)."""
    import psutil

    try:
        top = psutil.Process(pid)
        procs = [*top.children(recursive=True), top]
    except psutil.Error:
        return False
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=2)
    return True
