"""Ask a URL from inside a container's network namespace, the way that container would.

    nsenter -t PID -n python -m bench.nsprobe HOST PORT PATH

Started once per measurement through `nsenter -n` (network namespace only: this process keeps
the host's files and Python). Each line on stdin asks once: resolve HOST through the engine's
embedded DNS (127.0.0.11, which answers inside every user-network namespace, as the container's
own resolver would) and GET PATH on PORT; the answer is one line, "1" for a 2xx/3xx, else "0".
A probe costs about a millisecond; a `docker exec CONTAINER wget` costs a runc exec (70-100 ms
here), too coarse for a 20 ms poll. HOST is resolved on every ask: a recreated container may
come back at another address, and the container would see that too.
"""
from __future__ import annotations

import random
import socket
import struct
import sys

DNS = ("127.0.0.11", 53)
TIMEOUT = 0.5


def query(host: str) -> tuple[int, bytes]:
    ident = random.randrange(1 << 16)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in host.split(".")) + b"\0"
    return ident, struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)


def _skip_name(data: bytes, i: int) -> int:
    while True:
        n = data[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:  # a compression pointer ends the name
            return i + 2
        i += n + 1


def first_a_record(data: bytes, ident: int) -> str | None:
    """The first IPv4 address in a DNS answer to our query, or None."""
    if len(data) < 12:
        return None
    rid, _flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
    if rid != ident:
        return None
    i = 12
    for _ in range(qd):
        i = _skip_name(data, i) + 4
    for _ in range(an):
        i = _skip_name(data, i)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            return socket.inet_ntoa(data[i:i + 4])
        i += rdlen
    return None


def resolve(host: str) -> str | None:
    ident, packet = query(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        s.sendto(packet, DNS)
        try:
            return first_a_record(s.recv(2048), ident)
        except OSError:
            return None


def get_ok(host: str, port: int, path: str) -> bool:
    try:
        address = resolve(host)
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
