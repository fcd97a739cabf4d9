"""Ask a URL from inside a container's network namespace, the way that container would.

    nsenter -t PID -n python -m bench.nsprobe HOST PORT PATH

Started once per measurement through `nsenter -n` (network namespace only: this process keeps
the host's files and Python). Each line on stdin asks once: resolve HOST through the engine's
embedded DNS (127.0.0.11, which answers inside every user-network namespace, as the container's
own resolver would) and GET PATH on PORT; the answer is one line, "1" for a 2xx/3xx, else "0".
A probe costs about a millisecond; a `docker exec CONTAINER wget` costs a runc exec (70-100 ms
here), too coarse for a 20 ms poll. HOST is resolved on every ask: a recreated container may
come back at another address, and the container would see that too. The DNS client is
stacktui.core.latency.dns, which `stacktui latency` uses the same way.
"""
from __future__ import annotations

import socket
import sys

from stacktui.core.latency.dns import resolve

TIMEOUT = 0.5


def get_ok(host: str, port: int, path: str) -> bool:
    try:
        address = resolve(host, timeout=TIMEOUT)
        if address is None:
            return False
        with socket.create_connection((address, port), timeout=TIMEOUT) as s:
            s.settimeout(TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = s.recv(64)
        return head.startswith(b"HTTP/") and head[9:10] in (b"2", b"3")
    except OSError:
        return False


def main() -> int:
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for _ in sys.stdin:
        sys.stdout.write("1\n" if get_ok(host, port, path) else "0\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
