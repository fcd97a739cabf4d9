"""Every service's state and health as `stacktui status` reports it (the TUI's Watcher keeps the same rows live)."""
from __future__ import annotations

from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo, Engine
from stacktui.core.health.status import HEALTHY, NO_CHECK, ServiceStatus, collect
from stacktui.core.resources.sampler import ResourceSampler

__all__ = ["PROBE_TIMEOUT", "ServiceStatus", "all_well", "service_statuses"]

PROBE_TIMEOUT = 2.0
CPU_WINDOW = 0.5  # seconds at least between the two readings CPU % is worked out from


def service_statuses(project: Project, engine: Engine, containers: list[ContainerInfo] | None = None,
                     probe_timeout: float = PROBE_TIMEOUT, *, figures: bool = False) -> list[ServiceStatus]:
    """One row per service: engine state, healthcheck, x-stacktui.health probe and stale verdict combined.

    `figures`: each running service's resource figures too; CPU % is over the probes' time,
    at least CPU_WINDOW (two readings).
    """
    from stacktui.core.health.probes import probe_all  # httpx and ssl only when a status is asked for

    if containers is None:
        containers = engine.project_containers(project.name)
    sampler = ResourceSampler(engine) if figures else None
    if sampler is not None:
        sampler.read(containers)
    probes = probe_all(project, containers, timeout=probe_timeout, local_engine=engine.is_local(),
                       engine_host=engine.endpoint.address)
    rows = collect(project, containers, probes)
    if sampler is not None:
        read = sampler.read(containers, min_gap=CPU_WINDOW)
        for row in rows:
            row.add_figures(read.get(row.service))
    return rows


def all_well(rows: list[ServiceStatus]) -> bool:
    """Every service healthy or without any check: what `status` exits 0 on."""
    return all(r.health in (HEALTHY, NO_CHECK) for r in rows)
