"""Which ports listen, and who calls them how: read from the compose files alone.

A service listens on its `x-stacktui.listens`, on the port of its `x-stacktui.health` URL
(when that URL names its own namespace), and on the ports its namespace's owner publishes or
exposes that no member claims (those count as the owner's). A dependant is a service whose
environment values or `x-stacktui` URLs name a service and port of another namespace
(`MCP_SERVER_URL=http://vscode:9001/health`): it calls across the bridge, through the name
it writes. A URL naming anything but a service of the stack is listed, never measured.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from stacktui.core.compose.model import Project
from stacktui.core.latency.figures import Skipped
from stacktui.core.namespaces.groups import exposed_targets, namespace_root, network_groups

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s,;\"'<>]+")
_HOST_PORT = re.compile(r"(?<![\w./:@-])([A-Za-z0-9][A-Za-z0-9_.-]*):(\d{1,5})(?![\w.])")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
OWN_LOOPBACK = ("localhost", "127.0.0.1", "::1")  # the caller's own namespace, measured as such


@dataclass(frozen=True)
class Listening:
    """A port a service listens on, in the network namespace `owner` owns."""

    service: str
    port: int
    owner: str
    http_path: str | None = None  # the health URL's path, when the URL is plain HTTP on this port


@dataclass(frozen=True)
class Use:
    """`caller` writes `name:port` somewhere in its settings."""

    caller: str
    name: str
    port: int
    where: str  # "environment MCP_SERVER_URL", "x-stacktui.health"


def _health(project: Project, service: str) -> tuple[int, str | None] | None:
    """(port, HTTP path or None) of the service's health URL when it names its own namespace."""
    url = project.services[service].x.health
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    host = parts.hostname or ""
    own = host in OWN_LOOPBACK or (host in project.services and
                                   namespace_root(project, host) == namespace_root(project, service))
    if port is None or not own:
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return port, path if parts.scheme == "http" else None


def listening(project: Project, services: Iterable[str] | None = None) -> list[Listening]:
    """Every listening port of the given services (all by default), in declared order."""
    wanted = set(services) if services is not None else set(project.services)
    out: list[Listening] = []
    for owner, members in network_groups(project).items():
        who: dict[int, str] = {}
        health: dict[str, tuple[int, str | None]] = {}
        for m in members:  # the owner first: what it claims stays its own
            for p in project.services[m].x.listens:
                who.setdefault(p, m)
        for m in members:
            found = _health(project, m)
            if found is not None:
                health[m] = found
                who.setdefault(found[0], m)
        spec = project.services[owner]
        for p in sorted({p.target for p in spec.ports if p.protocol == "tcp"} | exposed_targets(project, owner)):
            who.setdefault(p, owner)
        for port, service in who.items():
            if service in wanted:
                h = health.get(service)
                out.append(Listening(service, port, owner, h[1] if h and h[0] == port else None))
    order = {name: i for i, name in enumerate(project.services)}
    return sorted(out, key=lambda one: (order[one.service], one.port))


def _addresses(value: str) -> Iterator[tuple[str, int | None, bool]]:
    """(host, port, bare) of each URL or bare host:port in a setting's value; port None when unknowable."""
    taken: list[tuple[int, int]] = []
    for m in _URL.finditer(value):
        taken.append(m.span())
        try:
            parts = urlsplit(m.group(0))
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            continue
        if parts.hostname:
            yield parts.hostname, port, False
    for m in _HOST_PORT.finditer(value):
        if not any(a <= m.start() < b for a, b in taken):
            yield m.group(1), int(m.group(2)), True


def _settings(project: Project, service: str) -> Iterator[tuple[str, str]]:
    spec = project.services[service]
    for key, value in spec.environment.items():
        if value:
            yield f"environment {key}", value
    if spec.x.health:
        yield "x-stacktui.health", spec.x.health


def uses(project: Project) -> tuple[list[Use], list[Skipped]]:
    """Who names which service's port across namespaces, and the addresses named that are not the stack's."""
    found: list[Use] = []
    foreign: list[Skipped] = []
    for caller in project.services:
        home = namespace_root(project, caller)
        for where, value in _settings(project, caller):
            for host, port, bare in _addresses(value):
                if bare and host not in project.services and not _IPV4.fullmatch(host):
                    continue  # a time of day, a ratio: only an address is worth a line
                if host in project.services:
                    if port is not None and namespace_root(project, host) != home:
                        found.append(Use(caller, host, port, where))
                elif host not in OWN_LOOPBACK:
                    foreign.append(Skipped(caller, where, host))
    return list(dict.fromkeys(found)), foreign
