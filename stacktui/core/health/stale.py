"""Stale namespaces: containers living in a namespace their owner no longer has.

A raw `docker restart` of an owner gives it a new network namespace; every
container that joined the old one keeps running there, unreachable through the
owner's published ports, while its own healthcheck (run inside that dead
namespace) still passes. Staleness is transitive: C joins B joins A, a restart
of A strands B and therefore C, although B never restarted.

Signals, strongest first:
- the owner is not running, or the container joined an id that is no longer
  the owner's (the owner was recreated);
- on a local engine whose processes this machine can see: the namespace
  inodes (/proc/<pid>/ns/net, ipc, pid) of the two init processes differ, or
  agree (then it is not stale, whatever the clocks say);
- otherwise: the owner started after the container did.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.compose.model import Project

KIND_NAMES = {"network_mode": "network", "ipc": "ipc", "pid": "pid"}
PROC_NS = {"network": "net", "ipc": "ipc", "pid": "pid"}


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


def namespace_of(c: ContainerInfo, kind: str, proc: str = "/proc") -> str | None:
    """The namespace of this kind that the container's init process is in (e.g. 'net:[4026532338]').

    None unless this machine sees the engine's processes: the PID must be the
    container's own (its cgroup names the container id), which rules out a
    remote engine or one in a VM, where the same PID is another process or none.
    """
    if c.state != "running" or c.pid <= 0:
        return None
    try:
        with open(f"{proc}/{c.pid}/cgroup", encoding="utf-8", errors="replace") as fh:
            if c.id not in fh.read():
                return None
        return os.readlink(f"{proc}/{c.pid}/ns/{PROC_NS[kind]}")
    except OSError:
        return None


def find_stale(project: Project, containers: list[ContainerInfo], *,
               proc: str | None = "/proc") -> dict[str, StaleVerdict]:
    """Stale verdicts by service. `proc=None` leaves the namespace inodes out (a remote engine)."""
    by_service = _running(containers)
    verdicts: dict[str, StaleVerdict] = {}

    def ns(c: ContainerInfo, kind: str) -> str | None:
        return namespace_of(c, kind, proc) if proc else None

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
            mine_ns, their_ns = ns(mine, kind), ns(theirs, kind)
            if mine_ns and their_ns:
                if mine_ns != their_ns:
                    return StaleVerdict(
                        service, owner,
                        f"its {kind} namespace {mine_ns} is not {owner}'s {their_ns} ({owner} restarted after "
                        f"{service} joined it)",
                    )
                continue  # the kernel says they share it: clocks cannot overrule that
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


@dataclass(frozen=True)
class StaleFix:
    """What repairs a stale service: restarting `restart` (the highest stale link of its chain, or the owner
    that is not running), which brings every service in its namespaces with it."""

    service: str
    restart: str

    @property
    def command(self) -> str:
        return f"stacktui restart {self.restart}"

    @property
    def action(self) -> str:
        """The TUI's action id for the same fix."""
        return f"restart:{self.restart}"

    def text(self) -> str:
        if self.restart == self.service:
            return f"restart {self.service} into its owner's current namespace ({self.command})"
        return (f"restart from {self.restart}, the highest stale link above {self.service}; its joiners follow "
                f"in order ({self.command})")


def stale_fix(verdicts: dict[str, StaleVerdict], service: str,
              running: set[str] | None = None) -> StaleFix:
    """The one fix for a stale `service`, which `check`, the TUI's findings, the gates and the heal all give.

    Restarting `service` alone rejoins its owner's namespace as it is now; when that
    owner is itself stale, the rejoined namespace is still the dead one. So the fix
    walks up while the owner is stale; an owner that is not running (`running` names
    the running services) is where the restart starts instead.
    """
    top = service
    seen = {service}
    while top in verdicts:
        owner = verdicts[top].owner
        if owner in seen:
            break
        if running is not None and owner not in running:
            top = owner
            break
        if owner not in verdicts:
            break
        seen.add(owner)
        top = owner
    return StaleFix(service, top)


def running_services(containers: list[ContainerInfo]) -> set[str]:
    return {c.service for c in containers if c.state == "running"}
