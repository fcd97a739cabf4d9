"""Host ports the stack publishes that something else already holds, found before `up` or a restart.

Two witnesses: psutil's view of the host's listening sockets (a process outside
the stack, named where it is visible), and the engine's list of containers
(another project's container, which holds its port even with the userland proxy
off). The stack's own running containers are never a conflict: their
docker-proxy processes on the host hold exactly the ports the files publish.
"""
from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from stacktui.core.engine.client import PROJECT_LABEL, SERVICE_LABEL, ContainerInfo
from stacktui.core.findings import ERROR, PORT_IN_USE, PORT_TAKEN_BY_CONTAINER, WARNING, Finding
from stacktui.core.compose.model import Project
from stacktui.core.ports.static import Published, addresses_overlap, published_ports

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

# Processes that hold a published port on an engine's behalf: Docker's proxies, and Podman's
# conmon (it binds the host side of every published port itself).
PROXY_NAMES = ("docker-proxy", "rootlesskit", "vpnkit", "com.docker.backend", "conmon")


@dataclass(frozen=True)
class HostListener:
    """A socket bound on the host: TCP in LISTEN, or any bound UDP socket."""

    address: str
    port: int
    protocol: str  # tcp, udp
    pid: int | None  # None when the owner is not visible to us (another user's process)
    process: str | None
    cmdline: tuple[str, ...] = ()

    def who(self) -> str:
        if self.pid is None:
            return "a process stacktui cannot see (another user's; run as root to name it)"
        return f"{self.process or 'a process'} (pid {self.pid})"


@dataclass(frozen=True)
class EnginePort:
    """A host port published by a running container, as the engine lists it."""

    container_id: str
    container: str
    project: str
    service: str
    host_ip: str
    host_port: int
    protocol: str

    def who(self) -> str:
        if self.project:
            return f"container {self.container} (service {self.service} of project {self.project})"
        return f"container {self.container}"


def host_listeners() -> list[HostListener] | None:
    """The host's bound sockets via psutil; None when the OS will not show them (macOS without root)."""
    import psutil

    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError):
        return None
    names: dict[int, tuple[str | None, tuple[str, ...]]] = {}
    out: list[HostListener] = []
    for c in conns:
        if not c.laddr:
            continue
        tcp = c.type == socket.SOCK_STREAM
        if tcp and c.status != psutil.CONN_LISTEN:
            continue
        if not tcp and c.raddr:
            continue  # a connected UDP socket is some client's, not a server's port
        pid = c.pid or None
        if pid is not None and pid not in names:
            try:
                proc = psutil.Process(pid)
                names[pid] = (proc.name(), tuple(proc.cmdline()))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                names[pid] = (None, ())
        name, cmd = names.get(pid, (None, ())) if pid is not None else (None, ())
        out.append(HostListener(c.laddr.ip, c.laddr.port, "tcp" if tcp else "udp", pid, name, cmd))
    return out


def bind_test(host_ip: str, port: int, protocol: str) -> bool:
    """Whether the port is taken, by trying to bind it ourselves (when psutil sees nothing)."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    ip = host_ip or "0.0.0.0"
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, kind) as s:
            # As docker-proxy (Go) does: a TIME_WAIT left by an old connection does not block it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip.strip("[]"), port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    return False


def engine_ports(engine: "Engine") -> list[EnginePort]:
    """Host ports published by the engine's running containers, every project's."""
    out: list[EnginePort] = []
    for summary in engine.containers(all=False):
        labels = summary.get("Labels") or {}
        name = ((summary.get("Names") or ["?"])[0]).lstrip("/")
        for p in summary.get("Ports") or []:
            if not p.get("PublicPort"):
                continue
            out.append(EnginePort(summary["Id"], name, labels.get(PROJECT_LABEL, ""), labels.get(SERVICE_LABEL, ""),
                                  p.get("IP") or "", int(p["PublicPort"]), p.get("Type") or "tcp"))
    return out


def _hits(pub: Published, address: str, port: int, protocol: str) -> bool:
    return (protocol == pub.spec.protocol and pub.low <= port <= pub.high
            and addresses_overlap(pub.spec.host_ip, address))


def host_findings(project: Project, engine: "Engine | None", containers: list[ContainerInfo] | None = None,
                  services: Iterable[str] | None = None,
                  listeners: list[HostListener] | None | bool = True) -> list[Finding]:
    """Published host ports of `services` (default: all) that something outside the project holds.

    `listeners=True` reads the host with psutil (only when the engine is on this host);
    pass a list to use those, or False to ask only the engine.
    """
    wanted = set(services) if services is not None else set(project.services)
    pubs = [p for p in published_ports(project) if p.service in wanted]
    if not pubs:
        return []
    on_engine = engine_ports(engine) if engine is not None else []
    # Podman lists the namespace owner's published ports on every container that joined it too.
    joiners = {c.id for c in containers or [] if c.joined("network")}
    on_engine = [e for e in on_engine if e.container_id not in joiners]
    # ... and its list can leave one out (4.3: the third port of the demo's vscode); inspect does not.
    listed = {(e.container_id, e.host_port, e.protocol) for e in on_engine}
    on_engine += [EnginePort(c.id, c.name, c.project, c.service, p.host_ip, p.host_port, p.protocol)
                  for c in containers or [] if c.state == "running" and c.id not in joiners
                  for p in c.ports if (c.id, p.host_port, p.protocol) not in listed]
    own = {c.id: c.service for c in containers or []}
    own.update({e.container_id: e.service for e in on_engine if e.project == project.name})
    local = engine is None or engine.is_local()
    if listeners is True:
        listeners = host_listeners() if local else []
    elif listeners is False:
        listeners = []
    findings: list[Finding] = []
    for pub in pubs:
        handled: set[str] = set()
        # The engine's own account first: it names the container and its project.
        for e in on_engine:
            if not _hits(pub, e.host_ip, e.host_port, e.protocol):
                continue
            handled.add(e.container_id)
            if e.container_id not in own:
                findings.append(_taken(pub, e.host_port, e.who(), container=True))
            elif e.service != pub.service:
                findings.append(_moved(pub, e))
        if listeners is None:
            if not handled and pub.low == pub.high and bind_test(pub.spec.host_ip, pub.low, pub.spec.protocol):
                findings.append(_taken(pub, pub.low, "a process stacktui cannot see (the OS hides other "
                                       "processes' sockets; run as root to name it)"))
            continue
        for h in listeners:
            if not _hits(pub, h.address, h.port, h.protocol):
                continue
            if h.process in PROXY_NAMES:
                owner = _proxied(h, on_engine)
                if owner is not None and owner.container_id in handled | own.keys():
                    continue  # our own published port, or already named by the engine
                if owner is not None:
                    findings.append(_taken(pub, h.port, owner.who(), container=True))
                    continue
                if engine is not None:
                    findings.append(_taken(pub, h.port, f"{h.who()}, forwarding for a container this engine "
                                           "does not list (another Docker engine on this host?)", container=True))
                    continue
            findings.append(_taken(pub, h.port, h.who()))
    return findings


def _moved(pub: Published, holder: EnginePort) -> Finding:
    """The files moved a port to another service, but the old holder's container still runs with it."""
    ip = pub.spec.host_ip or "0.0.0.0"
    return Finding.at(
        pub.where, severity=WARNING, kind=PORT_TAKEN_BY_CONTAINER, service=pub.service, port=holder.host_port,
        message=(f"{pub.service} publishes {ip}:{holder.host_port}/{pub.spec.protocol}, but this project's "
                 f"running {holder.service} container ({holder.container}) still holds it from before the files "
                 f"changed; {pub.service} cannot start until {holder.service} is recreated"),
        hint=f"recreate {holder.service} first (docker compose up -d {holder.service}), then start {pub.service}")


def _proxied(h: HostListener, on_engine: list[EnginePort]) -> EnginePort | None:
    """The container a docker-proxy listener belongs to: the one publishing that host port."""
    for e in on_engine:
        if e.host_port == h.port and e.protocol == h.protocol and addresses_overlap(e.host_ip, h.address):
            return e
    return None


def _taken(pub: Published, port: int, who: str, container: bool = False) -> Finding:
    ip = pub.spec.host_ip or "0.0.0.0"
    addr = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    return Finding.at(
        pub.where, severity=ERROR, kind=PORT_TAKEN_BY_CONTAINER if container else PORT_IN_USE,
        service=pub.service, port=port,
        message=f"{pub.service} publishes {addr}/{pub.spec.protocol}, but {who} already holds it",
        hint=("stop that container or publish another host port" if container
              else "stop that process, or publish another host port"))


# --- around a layout change --------------------------------------------------------------------

def holder_of(port: int, protocol: str = "tcp") -> str:
    """Who holds a host port, as far as this user may see."""
    for listener in host_listeners() or []:
        if listener.port == port and listener.protocol == protocol and listener.pid is not None:
            return f"pid {listener.pid} ({listener.process})" if listener.process else f"pid {listener.pid}"
    return "another program"


def host_port_conflicts(new: Project, services: list[str], containers: list[ContainerInfo],
                        local: bool) -> list[str]:
    """Host ports a layout change publishes that will not be free when its containers start:
    published twice by the change, held by a container it does not restart, or bound on the host."""
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
                          if p == port and proto == spec.protocol and addresses_overlap(ip, spec.host_ip)), None)
            if clash:
                problems.append(f"{label} is published by both {clash} and {name}")
                continue
            wanted[key] = name
            other = next((c for p, c in kept if p.host_port == port and p.protocol == spec.protocol
                          and addresses_overlap(p.host_ip, spec.host_ip)), None)
            if other is not None:
                problems.append(f"{label} for {name} is published by {other.service} ({other.name}), "
                                "which this change does not restart")
                continue
            ours = any(p.host_port == port and p.protocol == spec.protocol
                       and addresses_overlap(p.host_ip, spec.host_ip) for p, _c in released)
            if not ours and local and bind_test(spec.host_ip, port, spec.protocol):
                problems.append(f"{label} for {name} is in use by {holder_of(port, spec.protocol)}")
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
