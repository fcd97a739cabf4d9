"""The fastest log reader measured on this engine (../shared/notes/engine.md), for the bench's own use.

A plain unix socket speaking HTTP/1.0 to the logs endpoint: the engine then sends no chunked
encoding and closes the connection at the end, so the body is the multiplexed frame stream
(8-byte header: stream, 3 zero bytes, big-endian size) read in 1 MB pieces. It is the floor the
app's own reader is compared with, and the stand-in pane's feed while the app has no log pane.
"""
from __future__ import annotations

import socket
import struct
from typing import Iterator
from urllib.parse import urlencode

RECV = 1 << 20
_HEADER = struct.Struct(">BxxxI")


def _request(sock_path: str, container_id: str, follow: bool, timeout: float) -> socket.socket:
    query = urlencode({"stdout": 1, "stderr": 1, "follow": int(follow), "timestamps": 0})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(f"GET /containers/{container_id}/logs?{query} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
    return s


def read_batches(sock_path: str, container_id: str, follow: bool = False,
                 timeout: float = 60.0, tty: bool = False) -> Iterator[list[bytes]]:
    """Complete lines (without newline) as they arrive, one list per socket read.

    tty: the container has a terminal (Config.Tty), so the body is raw bytes, not frames;
    engines before API 1.42 send the same content type for both, so the caller must say.
    """
    s = _request(sock_path, container_id, follow, timeout)
    try:
        buf = b""
        # Status line and headers first.
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(RECV)
            if not chunk:
                raise ConnectionError("the engine closed the logs request before answering")
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise ConnectionError(f"logs request failed: {status.decode(errors='replace')}")
        pending = b""  # an unfinished line carried to the next read
        view = buf
        while True:
            payload, view = _frames(view) if not tty else (view, b"")
            if payload:
                text = pending + payload
                lines = text.split(b"\n")
                pending = lines.pop()
                if lines:
                    yield lines
            chunk = s.recv(RECV)
            if not chunk:
                break
            view += chunk
        if pending:
            yield [pending]
    finally:
        s.close()


def _frames(data: bytes) -> tuple[bytes, bytes]:
    """Concatenated payloads of the complete frames in data, and the unparsed rest."""
    parts = []
    pos = 0
    end = len(data)
    while end - pos >= 8:
        _, size = _HEADER.unpack_from(data, pos)
        if end - pos - 8 < size:
            break
        parts.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return b"".join(parts), data[pos:]


def count_lines(sock_path: str, container_id: str, timeout: float = 60.0) -> int:
    return sum(len(batch) for batch in read_batches(sock_path, container_id, follow=False, timeout=timeout))
