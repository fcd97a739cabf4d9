"""Stale namespaces: containers living in a namespace their owner no longer has.

A raw `docker restart` of an owner gives it a new network namespace; every
container that joined the old one keeps running there, unreachable through the
owner's published ports, while its own healthcheck (run inside that dead
namespace) still passes. Staleness is transitive: C joins B joins A, a restart
of A strands B and therefore C, although B never restarted.
"""
from __future__ import annotations

from dataclasses import dataclass

from stacktui.core.engine import ContainerInfo
from stacktui.core.model import Project

KIND_NAMES = {"network_mode": "network", "ipc": "ipc", "pid": "pid"}


@dataclass(frozen=True)
class StaleVerdict:
    service: str
    owner: str  # the service whose namespace is the problem (direct owner)
    reason: str


def _running(containers: list[ContainerInfo]) -> dict[str, ContainerInfo]:
    """One container per service: the running one with the lowest number, else the first."""
    chosen: dict[str, ContainerInfo] = {}
    for c in containers:
        prev = chosen.get(c.service)
        if prev is None or (c.state == "running" and prev.state != "running"):
            chosen[c.service] = c
    return chosen


def find_stale(project: Project, containers: list[ContainerInfo]) -> dict[str, StaleVerdict]:
    by_service = _running(containers)
    verdicts: dict[str, StaleVerdict] = {}

    def direct(service: str) -> StaleVerdict | None:
        spec = project.services.get(service)
        mine = by_service.get(service)
        if spec is None or mine is None or mine.state != "running":
            return None
        for key, owner in spec.namespace_targets().items():
            kind = KIND_NAMES[key]
            theirs = by_service.get(owner)
            joined = mine.joined(kind)
            if theirs is None or theirs.state != "running":
                return StaleVerdict(service, owner, f"its {kind} namespace owner {owner} is not running")
            if joined and joined != theirs.id:
                return StaleVerdict(
                    service, owner,
                    f"joined {kind} namespace of container {joined[:12]}, but {owner} is now {theirs.id[:12]}",
                )
            if theirs.started_at and mine.started_at and theirs.started_at > mine.started_at:
                return StaleVerdict(
                    service, owner,
                    f"{owner} restarted at {theirs.started_at:%H:%M:%S} after {service} joined its {kind} namespace",
                )
        return None

    for service in project.services:
        v = direct(service)
        if v:
            verdicts[service] = v
    # Propagate: whoever joined a stale container is stranded with it.
    changed = True
    while changed:
        changed = False
        for service, spec in project.services.items():
            if service in verdicts or service not in by_service or by_service[service].state != "running":
                continue
            for owner in spec.namespace_targets().values():
                if owner in verdicts:
                    verdicts[service] = StaleVerdict(
                        service, owner, f"joined {owner}, which is itself stale ({verdicts[owner].reason})")
                    changed = True
                    break
    return verdicts
