"""Host ports around a layout change: will they be free, and does something answer on them."""
from __future__ import annotations

import socket

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.compose.model import Project


def _overlaps(a: str, b: str) -> bool:
    wild = ("", "0.0.0.0", "::")
    return a in wild or b in wild or a == b


def _holder(port: int) -> str:
    """Who listens on a host port, as far as this user may see."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="inet"):
            if conn.laddr and conn.laddr.port == port and conn.status in ("LISTEN", "NONE") and conn.pid:
                try:
                    return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except Exception:  # psutil may be refused the socket table; the port number is still worth saying
        pass
    return "another program"


def _bindable(ip: str, port: int, protocol: str) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError:
            return False
    return True


def host_port_conflicts(new: Project, services: list[str], containers: list[ContainerInfo],
                        local: bool) -> list[str]:
    """Host ports the new layout publishes that will not be free when its containers start."""
    problems: list[str] = []
    released = [(p, c) for c in containers if c.state == "running" and c.service in services for p in c.ports]
    kept = [(p, c) for c in containers if c.state == "running" and c.service not in services for p in c.ports]
    wanted: dict[tuple[str, int, str], str] = {}
    for name in services:
        for spec in new.services[name].ports:
            port = spec.host_port
            if port is None:
                continue
            key = (spec.host_ip, port, spec.protocol)
            label = f"{spec.host_ip or '0.0.0.0'}:{port}/{spec.protocol}"
            clash = next((s for (ip, p, proto), s in wanted.items()
                          if p == port and proto == spec.protocol and _overlaps(ip, spec.host_ip)), None)
            if clash:
                problems.append(f"{label} is published by both {clash} and {name}")
                continue
            wanted[key] = name
            other = next((c for p, c in kept if p.host_port == port and p.protocol == spec.protocol
                          and _overlaps(p.host_ip, spec.host_ip)), None)
            if other is not None:
                problems.append(f"{label} for {name} is published by {other.service} ({other.name}), "
                                "which this change does not restart")
                continue
            ours = any(p.host_port == port and p.protocol == spec.protocol and _overlaps(p.host_ip, spec.host_ip)
                       for p, _c in released)
            if not ours and local and not _bindable(spec.host_ip, port, spec.protocol):
                problems.append(f"{label} for {name} is in use by {_holder(port)}")
    return problems


def port_answers(ip: str, port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """Does something answer on a published port? The engine's proxy accepts even when nothing
    listens behind it, then closes at once: so a connection must be kept open or answered."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: stacktui\r\n\r\n")
            try:
                data = s.recv(64)
            except socket.timeout:
                return True, "accepted, no reply within the timeout"
            if data:
                return True, "answered"
            return False, "closed without answering"
    except OSError as exc:
        return False, exc.strerror or str(exc)
