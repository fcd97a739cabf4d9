"""HTTP/1.0 over the engine's unix socket, for the few calls that must be fast.

docker-py costs 0.15-0.2 s of CPU to import (requests, urllib3, paramiko's
checks) and holds the GIL while the TUI's first frame is being built, and its
chunked-transfer decoding is slow for logs. For a local engine the reads
(ping, list, inspect, version, events, logs) speak HTTP/1.0 directly: the
engine then answers without chunked encoding and closes the connection at the
end of the body. So do the calls that change a container (start, stop, restart,
exec): `stacktui restart` would otherwise wait for docker-py's import before its
first restart (0.13-0.22 s measured).
"""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any
from stacktui.core.durations import seconds

CONNECT_TIMEOUT = 5.0
MAX_HEADER = 1 << 20


class EngineGone(ConnectionError):
    """The engine's socket refused us or closed before answering."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # what came with the headers; the rest is still on the socket


def request(socket_path: str, path: str, *, timeout: float = CONNECT_TIMEOUT, method: str = "GET",
            body: Any = None) -> tuple[socket.socket, Response]:
    """Send `METHOD path` (with `body` as JSON), read the status line and headers; the caller owns (and
    closes) the socket.

    Raises EngineGone when the socket cannot be reached or closes before the headers end;
    PermissionError is kept as it is, so the caller can say what to do about it.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except PermissionError:
            raise
        except OSError as exc:
            raise EngineGone(f"cannot connect to {socket_path}: {exc}") from exc
        payload = b"" if body is None else json.dumps(body).encode()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n" if method != "GET" else ""
        sock.sendall(f"{method} {path} HTTP/1.0\r\nHost: docker\r\n{extra}\r\n".encode() + payload)
        head = bytearray()
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise EngineGone("the engine closed the connection before answering")
            head += chunk
            if len(head) > MAX_HEADER:
                raise EngineGone("no end of HTTP headers from the engine")
        header, _, body = bytes(head).partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise EngineGone(f"not an HTTP answer from {socket_path}: {lines[0][:80]!r}") from exc
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        return sock, Response(status, headers, body)
    except BaseException:
        sock.close()
        raise


def read_rest(sock: socket.socket, *, strict: bool = False) -> bytes:
    """The body up to the engine's close (HTTP/1.0).

    Not strict (an error page): whatever arrived if the connection breaks. Strict: a body cut
    short raises EngineGone rather than passing for a whole one.
    """
    parts = []
    try:
        while chunk := sock.recv(65536):
            parts.append(chunk)
    except OSError as exc:
        if strict:
            raise EngineGone(f"the engine stopped answering mid-reply: {exc or type(exc).__name__}") from exc
    return b"".join(parts)


def expect_ok(sock: socket.socket, response: Response, what: str) -> None:
    """Anything but 200 closes the socket and raises EngineGone with the engine's own words."""
    if response.status == 200:
        return
    rest = response.body + read_rest(sock)
    sock.close()
    raise EngineGone(f"{what}: HTTP {response.status}: {rest[:300].decode('utf-8', 'replace')}")


def get(socket_path: str, path: str, *, timeout: float = CONNECT_TIMEOUT, method: str = "GET",
        body: Any = None) -> tuple[int, bytes]:
    """One whole request (a GET unless told): status and body."""
    sock, response = request(socket_path, path, timeout=timeout, method=method, body=body)
    try:
        return response.status, response.body + read_rest(sock, strict=True)
    finally:
        sock.close()


def post(socket_path: str, path: str, body: Any = None, *, timeout: float = CONNECT_TIMEOUT) -> tuple[int, Any]:
    """One POST whose answer is short (start, stop, restart, exec create): status and decoded JSON, or
    None for an empty or non-JSON body. `timeout` bounds each wait for the engine, so a stop must
    allow for its grace period; past it the engine counts as gone (what docker-py's timeout says too).
    """
    try:
        # No body at all for start/stop/restart: the engine refuses one on start since API 1.24.
        status, data = get(socket_path, path, timeout=timeout, method="POST", body=body)
    except TimeoutError as exc:
        raise EngineGone(f"POST {path.split('?')[0]}: no answer from the engine within {seconds(timeout)}") from exc
    try:
        return status, json.loads(data) if data.strip() else None
    except ValueError:
        return status, None


def get_json(socket_path: str, path: str, *, timeout: float = CONNECT_TIMEOUT) -> tuple[int, Any]:
    """Status and decoded JSON (None when the body is not JSON, as in an error page)."""
    status, body = get(socket_path, path, timeout=timeout)
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        if status == 200:
            raise EngineGone(f"GET {path.split('?')[0]}: the engine's answer is not JSON") from None
        return status, None


class JSONStream:
    """A streaming endpoint (events) read as newline-separated JSON objects; close() from any thread.

    With HTTP/1.0 the engine sends the objects as they happen, unchunked, one per line.
    """

    def __init__(self, sock: socket.socket, body: bytes) -> None:
        self._sock = sock
        self._pending = body
        self._closed = False

    def __iter__(self) -> "JSONStream":
        return self

    def __next__(self) -> Any:
        while True:
            line, sep, rest = self._pending.partition(b"\n")
            if sep:
                self._pending = rest
                if line.strip():
                    return json.loads(line)
                continue
            if self._closed:
                raise StopIteration
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                if self._closed:
                    raise StopIteration from None
                raise EngineGone(f"the engine's stream broke: {exc}") from exc
            if not chunk:
                raise StopIteration
            self._pending += chunk

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
        except OSError:
            pass
        self._sock.close()


def stream_json(socket_path: str, path: str, *, timeout: float = CONNECT_TIMEOUT) -> JSONStream:
    sock, response = request(socket_path, path, timeout=timeout)
    expect_ok(sock, response, f"GET {path.split('?')[0]}")
    sock.settimeout(None)  # an idle project sends no events for hours
    return JSONStream(sock, response.body)
