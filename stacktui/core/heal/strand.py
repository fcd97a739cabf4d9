"""Who is stranded, and who is not ours to touch.

A joiner is stranded when it runs in a namespace its owner no longer has
(core.health.stale), or when the engine failed to start it because of the
dead owner: Docker keeps the refusal in State.Error ("cannot join network of a
non running container", "No such container: <old id>") and clears it on the
next good start. A joiner stopped by hand has no such error: it is not
stranded, and stays stopped.

It can be healed only once every owner up its chain runs (or is itself a
stranded joiner that the same plan restarts first).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Mapping
from urllib.parse import urlsplit

from stacktui.core.compose.model import Extension, Project
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.health.stale import find_stale

STALE, FAILED = "stale", "failed"
# What the engine writes into State.Error when a joiner cannot enter its owner's namespace.
JOIN_ERRORS = ("non running container", "no such container", "joining network namespace", "is not running",
               "wait until the container is running")
NOT_RUNNING = ("exited", "created", "restarting", "dead")


@dataclass(frozen=True)
class Stranded:
    service: str
    owner: str  # the direct owner (for C joins B joins A: B)
    root: str  # whose start or death stranded it (A)
    how: str  # STALE (running in a dead namespace) or FAILED (the engine refused its start)
    reason: str
    container_id: str
    healable: bool  # every owner up the chain is running, or is healed first by the same plan
    started_at: float | None  # the root's start (unix time), when it runs: heal times count from it


def owner_chain(project: Project, service: str) -> list[str]:
    """The owners above `service`, nearest first, through any namespace kind (network, ipc, pid)."""
    out: list[str] = []
    cur = service
    while True:
        targets = project.services[cur].namespace_targets() if cur in project.services else {}
        nxt = next((t for t in targets.values() if t not in out and t != service), None)
        if nxt is None:
            return out
        out.append(nxt)
        cur = nxt


def joiners(project: Project) -> list[str]:
    return [name for name, spec in project.services.items() if spec.namespace_targets()]


def owners(project: Project) -> set[str]:
    return {t for spec in project.services.values() for t in spec.namespace_targets().values()}


def refused_start(error: str) -> bool:
    low = error.lower()
    return any(marker in low for marker in JOIN_ERRORS)


def find_stranded(project: Project, containers: list[ContainerInfo], start_errors: Mapping[str, str],
                  *, proc: str | None = "/proc", owed: frozenset[str] = frozenset()) -> dict[str, Stranded]:
    """Stranded joiners by service. `start_errors`: State.Error of the joiners' containers that are not running;
    `owed`: ids of containers an unfinished heal stopped (with their owner) and still owes a start."""
    by_service: dict[str, ContainerInfo] = {}
    for one in containers:
        prev = by_service.get(one.service)
        if prev is None or (one.state == "running" and prev.state != "running"):
            by_service[one.service] = one
    found: dict[str, tuple[str, str, str, str]] = {}  # service -> (owner, how, reason, container id)
    for service, verdict in find_stale(project, containers, proc=proc).items():
        found[service] = (verdict.owner, STALE, verdict.reason, by_service[service].id)
    for service in joiners(project):
        c: ContainerInfo | None = by_service.get(service)
        if c is None or c.state not in NOT_RUNNING or service in found:
            continue
        error = start_errors.get(c.id, "").strip()
        owner = owner_chain(project, service)[0]
        theirs = by_service.get(owner)
        # Any start failure counts when the owner started again after it: the start ran into the
        # dead namespace (runc's "can't get final child's PID from pipe" is one more way to say so).
        after_it = bool(theirs and theirs.started_at and c.finished_at and theirs.started_at > c.finished_at)
        if error and (refused_start(error) or after_it):
            found[service] = (owner, FAILED, f"the engine could not start it: {error}", c.id)
        elif c.id in owed:
            found[service] = (owner, FAILED, "an unfinished heal stopped it with its owner", c.id)
    out: dict[str, Stranded] = {}
    for service, (owner, how, reason, cid) in found.items():
        chain = owner_chain(project, service)
        root = chain[-1] if chain else owner
        healable = all(o in found or (o in by_service and by_service[o].state == "running") for o in chain)
        root_c = by_service.get(root)
        started = root_c.started_at.timestamp() if root_c and root_c.started_at and root_c.state == "running" else None
        out[service] = Stranded(service, owner, root, how, reason, cid, healable, started)
    return out


# --- where unattended probes may go -----------------------------------------------------------------

LOOPBACK_NAMES = ("localhost",)


def probe_is_local(project: Project, url: str) -> bool:
    """True when the URL names a service of the stack, or a loopback address on a port the stack publishes.

    Anything else (another host, another 127.x address, a port the stack does not
    publish) is a request a cloned compose file would make a background process
    send to somebody else.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in project.services:
        return True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    published = {(p.host_ip or "", p.host_port) for s in project.services.values() for p in s.ports if p.host_port}
    if host in LOOPBACK_NAMES:
        return any(hp == port and ip in ("", "127.0.0.1", "0.0.0.0") for ip, hp in published)
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback and any(hp == port and ip in ("", "0.0.0.0", "::", str(addr)) for ip, hp in published)


def foreign_probes(project: Project) -> dict[str, str]:
    """service -> its `x-stacktui.health` URL, for the URLs the watcher must not request."""
    return {name: spec.x.health for name, spec in project.services.items()
            if spec.x.health and not probe_is_local(project, spec.x.health)}


def without_foreign_probes(project: Project) -> Project:
    """The project as the healer's gates see it: foreign probe URLs left out (the other gates remain)."""
    foreign = foreign_probes(project)
    if not foreign:
        return project
    services = {name: (replace(spec, x=Extension(health=None, listens=spec.x.listens)) if name in foreign else spec)
                for name, spec in project.services.items()}
    return replace(project, services=services)
