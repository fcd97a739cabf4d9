"""One row per service: engine state, healthcheck, probe and stale verdict, combined.

A service is shown healthy only when every signal that applies agrees; the
stale verdict wins over a passing healthcheck, because in a dead namespace the
healthcheck talks to itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Mapping

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.compose.model import Project
from stacktui.core.health.stale import StaleVerdict, find_stale
from stacktui.core.resources.figures import Figures

HEALTHY, UNHEALTHY, STARTING, STALE, NO_CHECK, DOWN = "healthy", "unhealthy", "starting", "stale", "no check", "down"


@dataclass(frozen=True)
class ProbeResult:
    """One HTTP probe of a service's `x-stacktui.health` URL."""

    service: str
    url: str  # as declared
    reached_via: str  # the URL actually requested, and how (e.g. "127.0.0.1:19001, published by vscode")
    ok: bool
    status_code: int | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    at: datetime | None = None
    checked: bool = True  # False: could not be made from here (a remote engine); no verdict either way


@dataclass
class ServiceStatus:
    service: str
    state: str  # running, exited (code N), restarting, paused, created, dead, missing
    health: str  # healthy, unhealthy, starting, stale, no check, down
    container_id: str | None = None
    started_at: datetime | None = None
    namespace_owner: str | None = None
    stale: bool = False
    stale_reason: str | None = None
    ports: list[str] = field(default_factory=list)
    docker_health: str | None = None
    health_output: str | None = None
    probe: ProbeResult | None = None
    restart_count: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    reasons: list[str] = field(default_factory=list)  # why the health word is what it is
    # Resource figures of a running service, when they were read (core.resources)
    cpu_percent: float | None = None
    mem_bytes: int | None = None
    mem_limit_bytes: int | None = None
    net_rx_bytes: int | None = None
    net_tx_bytes: int | None = None
    net_shared_with: str | None = None  # a joiner's traffic is its owner's: not counted twice

    def add_figures(self, figures: Figures | None) -> None:
        if figures is None or figures.container_id != self.container_id:
            return
        self.cpu_percent, self.mem_bytes, self.mem_limit_bytes = (figures.cpu_percent, figures.mem_bytes,
                                                                  figures.mem_limit_bytes)
        self.net_rx_bytes, self.net_tx_bytes, self.net_shared_with = (figures.rx_bytes, figures.tx_bytes,
                                                                      figures.net_shared_with)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat() if self.started_at else None
        if self.probe is not None:
            data["probe"]["at"] = self.probe.at.isoformat() if self.probe.at else None
        return data


def state_word(c: ContainerInfo | None) -> str:
    if c is None:
        return "missing"
    if c.state == "exited":
        return f"exited ({c.exit_code})" + (", OOM-killed" if c.oom_killed else "")
    if c.state == "running" and c.oom_killed:
        return "running (was OOM-killed)"
    return c.state


def combine(c: ContainerInfo | None, has_check: bool, probe: ProbeResult | None,
            stale: StaleVerdict | None) -> tuple[str, list[str]]:
    """The one health word and every reason behind it.

    Healthy only when each signal that applies agrees: the container runs, its
    Docker healthcheck (declared in the files or built into the image) passes,
    the declared probe answers, and its namespaces are not stale. A stale verdict
    wins over a passing healthcheck: in a dead namespace the healthcheck talks to itself.
    """
    if c is None or c.state != "running":
        return DOWN, [f"container is {state_word(c)}"]
    docker = c.health  # None: the running container has no healthcheck, whatever the files say
    failing: list[str] = []
    passing: list[str] = []
    if docker == "unhealthy":
        failing.append(f"healthcheck failing: {c.health_output or 'no output'}")
    elif docker == "healthy":
        passing.append("healthcheck passing" + (f": {c.health_output}" if c.health_output else ""))
    elif docker is None and has_check:
        passing.append("the files declare a healthcheck the running container does not have (`up` recreates it)")
    if probe is not None and not probe.checked:
        passing.append(f"probe {probe.url} {probe.error}")
    elif probe is not None:
        if probe.ok:
            passing.append(f"probe {probe.url} answered {probe.status_code} via {probe.reached_via}")
        else:
            failing.append(f"probe {probe.url} failed via {probe.reached_via}: {probe.error or probe.status_code}")
    if stale is not None:
        return STALE, [stale.reason, *failing, *passing]
    if docker == "starting":
        return STARTING, ["healthcheck has not passed yet", *failing, *passing]
    if failing:
        return UNHEALTHY, failing + passing
    if docker == "healthy" or (probe is not None and probe.checked):
        return HEALTHY, passing
    return NO_CHECK, passing or ["no healthcheck and no probe declared"]


def collect(project: Project, containers: list[ContainerInfo],
            probes: Mapping[str, ProbeResult] | None = None) -> list[ServiceStatus]:
    """Status rows in the order the services are declared."""
    probes = probes or {}
    stale = find_stale(project, containers)
    by_service: dict[str, ContainerInfo] = {}
    for one in containers:
        if one.service not in by_service or (one.state == "running" and by_service[one.service].state != "running"):
            by_service[one.service] = one
    rows: list[ServiceStatus] = []
    for name, spec in project.services.items():
        c: ContainerInfo | None = by_service.get(name)
        verdict = stale.get(name)
        word, reasons = combine(c, spec.has_healthcheck, probes.get(name), verdict)
        owner = spec.namespace_target("network_mode") or spec.namespace_target("ipc") or spec.namespace_target("pid")
        rows.append(ServiceStatus(
            service=name,
            state=state_word(c),
            health=word,
            container_id=c.id if c else None,
            started_at=c.started_at if c else None,
            namespace_owner=owner,
            stale=verdict is not None,
            stale_reason=verdict.reason if verdict else None,
            ports=([f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}" for p in c.ports]
                   if c else []),
            docker_health=c.health if c else None,
            health_output=c.health_output if c else None,
            probe=probes.get(name),
            restart_count=c.restart_count if c else 0,
            exit_code=c.exit_code if c and c.state == "exited" else None,
            oom_killed=bool(c and c.oom_killed),
            reasons=reasons,
        ))
    return rows
