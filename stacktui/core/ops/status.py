"""Every service's state and health as `stacktui status` reports it (the TUI's Watcher keeps the same rows live)."""
from __future__ import annotations

from dataclasses import replace

from stacktui.core.compose.model import Project
from stacktui.core.health.gates import health_command
from stacktui.core.engine.client import ContainerInfo, Engine
from stacktui.core.health.status import HEALTHY, NO_CHECK, ServiceStatus, collect
from stacktui.core.resources.sampler import ResourceSampler

__all__ = ["PROBE_TIMEOUT", "ServiceStatus", "all_well", "service_statuses"]

PROBE_TIMEOUT = 2.0
HEALTHCHECK_NOW = 3.0  # seconds a healthcheck run by status may take
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
    checked = _starting_checked(engine, containers)
    rows = collect(project, checked, probes)
    # docker_health stays Docker's own word: a check stacktui ran does not change what Docker says.
    said = {c.service: c.health for c in containers}
    for row in rows:
        if row.docker_health == "healthy" and said.get(row.service) == "starting":
            row.docker_health = "starting"
    if sampler is not None:
        read = sampler.read(containers, min_gap=CPU_WINDOW)
        for row in rows:
            row.add_figures(read.get(row.service))
    return rows


def _starting_checked(engine: Engine, containers: list[ContainerInfo]) -> list[ContainerInfo]:
    """Docker says `starting` until its first check, one `interval` after the start (30 s by default). A restart's
    gate runs the healthcheck's own command at once instead (core.health.gates); so does status, for those
    containers only, so that what a finished restart passed, status passes too."""
    out = []
    for c in containers:
        if c.state == "running" and c.health == "starting":
            passed = _healthcheck_now(engine, c)
            if passed is not None:
                c = replace(c, health="healthy", health_output=passed)
        out.append(c)
    return out


def _healthcheck_now(engine: Engine, c: ContainerInfo) -> str | None:
    """The healthcheck command's output when it passes when run now, else None."""
    try:
        raw = engine.inspect_raw(c.id)
        cmd = health_command(raw)
        if cmd is None:
            return None
        code, output = engine.exec(c.id, cmd, HEALTHCHECK_NOW)
    except Exception:  # the container stopped meanwhile, or the engine refused the exec: Docker's word stands
        return None
    if code != 0:
        return None
    return (output.strip() + "; " if output.strip() else "") + "run by stacktui: Docker's first check is still due"


def all_well(rows: list[ServiceStatus]) -> bool:
    """Every service healthy or without any check: what `status` exits 0 on."""
    return all(r.health in (HEALTHY, NO_CHECK) for r in rows)
