"""The namespace graph of a project: who owns a network namespace, who joins it, what it publishes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from stacktui.core.model import Project


def network_members(project: Project, service: str) -> list[str]:
    """Services that join service's network namespace, directly or through another member."""
    found: list[str] = []
    frontier = [service]
    while frontier:
        owner = frontier.pop(0)
        for name, spec in project.services.items():
            if spec.namespace_target("network_mode") == owner and name not in found and name != service:
                found.append(name)
                frontier.append(name)
    return [n for n in project.services if n in found]


def ipc_root(project: Project, service: str) -> str:
    return project.namespace_root(service, "ipc")


def published_targets(project: Project, service: str) -> set[int]:
    return {p.target for p in project.services[service].ports}


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
