"""A name asked of the engine's embedded DNS, the resolver every container on a user network has.

Standard library only: the namespace helper imports it after entering a container's network
namespace, where 127.0.0.11 is that container's resolver (its /etc/resolv.conf says so).
"""
from __future__ import annotations

import random
import socket
import struct

ENGINE_DNS = "127.0.0.11"
DNS_PORT = 53
TIMEOUT = 0.5


def query(host: str) -> tuple[int, bytes]:
    """(id, packet) of an A query for `host`, recursion desired."""
    ident = random.randrange(1 << 16)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in host.split(".") if p) + b"\0"
    return ident, struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)


def _skip_name(data: bytes, i: int) -> int:
    while True:
        n = data[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:  # a compression pointer ends the name
            return i + 2
        i += n + 1


def a_records(data: bytes, ident: int) -> list[str]:
    """The IPv4 addresses in a DNS answer to our query, in the order given."""
    if len(data) < 12:
        return []
    rid, _flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
    if rid != ident:
        return []
    found: list[str] = []
    try:
        i = 12
        for _ in range(qd):
            i = _skip_name(data, i) + 4
        for _ in range(an):
            i = _skip_name(data, i)
            rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[i:i + 10])
            i += 10
            if rtype == 1 and rdlen == 4:
                found.append(socket.inet_ntoa(data[i:i + 4]))
            i += rdlen
    except (IndexError, struct.error):
        pass  # a truncated answer: what was read before the cut stands
    return found


def first_a_record(data: bytes, ident: int) -> str | None:
    """The first IPv4 address in a DNS answer to our query, or None."""
    found = a_records(data, ident)
    return found[0] if found else None


def resolve(host: str, server: str = ENGINE_DNS, timeout: float = TIMEOUT) -> str | None:
    """The first A record the server gives for `host`, or None (no answer, no such name)."""
    ident, packet = query(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, DNS_PORT))
        try:
            return first_a_record(s.recv(2048), ident)
        except OSError:
            return None


def nameservers(resolv_conf: str) -> list[str]:
    """The `nameserver` lines of a resolv.conf text, in order."""
    out: list[str] = []
    for line in resolv_conf.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            out.append(words[1])
    return out
