"""Walks over `service:X` links: who owns a namespace, who joins it, what the group publishes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from stacktui.core.compose.model import Project


def chain(project: Project, service: str, kind: str = "network_mode") -> list[str]:
    """`service`, then each service whose `kind` namespace it joins in turn, ending at the owner.

    Every walk over `service:X` links is this one: a cycle or an unknown target ends it.
    """
    hops = [service]
    while hops[-1] in project.services:
        nxt = project.services[hops[-1]].namespace_target(kind)
        if not nxt or nxt in hops:
            break
        hops.append(nxt)
    return hops


def namespace_root(project: Project, service: str, kind: str = "network_mode") -> str:
    """The service that owns `service`'s namespace of this kind (itself when it joins nobody)."""
    return chain(project, service, kind)[-1]


def ipc_root(project: Project, service: str) -> str:
    return namespace_root(project, service, "ipc")


def network_members(project: Project, service: str) -> list[str]:
    """Services that join service's network namespace, directly or through another member, in declared order."""
    return [n for n in project.services if n != service and service in chain(project, n)]


def network_groups(project: Project) -> dict[str, list[str]]:
    """Owner -> members (owner first, then joiners in declared order), for every network namespace."""
    groups: dict[str, list[str]] = {}
    for name in project.services:
        groups.setdefault(namespace_root(project, name), []).append(name)
    for owner, members in groups.items():
        if owner in members:
            members.remove(owner)
            members.insert(0, owner)
    return groups


def published_targets(project: Project, service: str) -> set[int]:
    return {p.target for p in project.services[service].ports}


def exposed_targets(project: Project, service: str) -> set[int]:
    """Container ports in `expose:` ("8080", "8080/tcp", "9000-9001")."""
    found: set[int] = set()
    for entry in project.services[service].expose:
        lo, _, hi = entry.split("/", 1)[0].partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            found |= set(range(int(lo), int(hi or lo) + 1)) if int(hi or lo) - int(lo) < 65536 else set()
    return found


def listens_of(project: Project, services: Iterable[str]) -> set[int]:
    return {p for s in services for p in project.services[s].x.listens}


@dataclass
class Member:
    service: str
    joins: dict[str, str]  # kind (network_mode, ipc, pid) -> service
    listens: tuple[int, ...]


@dataclass
class NamespaceGroup:
    """One network namespace: its owner, who joins it, and what it publishes."""

    owner: str
    ipc: str | None  # the owner's ipc setting as written (shareable, service:X, ...)
    members: list[Member]
    ports: list[tuple[str, str | None]]  # (PortSpec label, the member that listens on it, if known)
    listens: tuple[int, ...]


def describe(project: Project) -> list[NamespaceGroup]:
    """Every network namespace of the project, owners in declared order."""
    groups: list[NamespaceGroup] = []
    for name, spec in project.services.items():
        if spec.namespace_target("network_mode"):
            continue
        members = [Member(m, project.services[m].namespace_targets(), project.services[m].x.listens)
                   for m in network_members(project, name)]
        who: dict[int, str] = {p: name for p in spec.x.listens}
        for m in members:
            for p in m.listens:
                who.setdefault(p, m.service)
        ports = [(p.label(), who.get(p.target)) for p in spec.ports]
        groups.append(NamespaceGroup(name, spec.ipc, members, ports, spec.x.listens))
    return groups
