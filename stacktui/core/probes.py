"""HTTP probes of `x-stacktui.health` URLs, reached from the host.

A URL names services the way containers do (`http://vscode:9001/health`).
From the host, stacktui reaches it through the port published by that
service's namespace owner, else the container's own address on a local Linux
engine, and says which it used.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from stacktui.core.engine import ContainerInfo
from stacktui.core.model import Project
from stacktui.core.status import ProbeResult

DEFAULT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Route:
    url: str  # what is requested
    how: str  # how it maps to the declared URL, for the user


def namespace_root(project: Project, service: str) -> str:
    """Follow `network_mode: service:X` to the service that owns the network namespace."""
    seen: set[str] = set()
    while service in project.services and service not in seen:
        seen.add(service)
        nxt = project.services[service].namespace_target("network_mode")
        if not nxt:
            break
        service = nxt
    return service


def route(project: Project, containers: list[ContainerInfo], url: str, local_engine: bool = True) -> Route:
    """Where on the host a container-side URL can be reached; raises LookupError when nowhere."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host not in project.services:
        return Route(url, "as written")
    owner = namespace_root(project, host)
    running = {c.service: c for c in containers if c.state == "running"}
    owner_c = running.get(owner)
    if owner_c is None:
        raise LookupError(f"{owner} (which owns {host}'s network) is not running")
    via = f", published by {owner}" if owner != host else ""
    for p in owner_c.ports:
        if p.container_port == port and p.protocol == "tcp":
            ip = "127.0.0.1" if p.host_ip in ("", "0.0.0.0", "::") else p.host_ip
            netloc = f"[{ip}]:{p.host_port}" if ":" in ip else f"{ip}:{p.host_port}"
            return Route(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
                         f"host port {ip}:{p.host_port}{via}")
    if local_engine:
        for net, ip in sorted(owner_c.ip_addresses.items()):
            return Route(urlunsplit((parts.scheme, f"{ip}:{port}", parts.path, parts.query, "")),
                         f"container address {ip} on {net}{via}")
    raise LookupError(f"port {port} of {host} is not published and the engine is not local")


def probe(service: str, url: str, target: Route | None, timeout: float = DEFAULT_TIMEOUT,
          client=None) -> ProbeResult:
    """One request; any answer below 400 is a pass. Never raises."""
    import httpx

    at = datetime.now(timezone.utc)
    if target is None:
        return ProbeResult(service, url, "unreachable", False, error="no route from the host", at=at)
    started = time.perf_counter()
    try:
        if client is not None:
            reply = client.get(target.url, timeout=timeout)
        else:
            reply = httpx.get(target.url, timeout=timeout)
        ok = reply.status_code < 400
        return ProbeResult(service, url, target.how, ok, status_code=reply.status_code,
                           error=None if ok else f"HTTP {reply.status_code}",
                           elapsed_ms=(time.perf_counter() - started) * 1000, at=at)
    except httpx.HTTPError as exc:
        return ProbeResult(service, url, target.how, False, error=f"{type(exc).__name__}: {exc}".rstrip(": "),
                           elapsed_ms=(time.perf_counter() - started) * 1000, at=at)


def probe_service(project: Project, containers: list[ContainerInfo], service: str,
                  timeout: float = DEFAULT_TIMEOUT, local_engine: bool = True) -> ProbeResult | None:
    """Probe a service's declared URL; None when it declares none."""
    url = project.services[service].x.health
    if not url:
        return None
    try:
        target = route(project, containers, url, local_engine)
    except LookupError as exc:
        return ProbeResult(service, url, "unreachable", False, error=str(exc), at=datetime.now(timezone.utc))
    return probe(service, url, target, timeout)
