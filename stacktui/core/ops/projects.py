"""Every Compose project on one or more engines, from container labels alone (no files needed).

One container listing per engine, one inspect per container (in parallel, as the engine
answers them concurrently), then per project: its services from the labels, the state of
each, and the stale-namespace verdict the status view gives. Stopped services count: a
service is in the project while any of its containers exists.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from stacktui.core.engine.client import (FILES_LABEL, INSPECT_THREADS, ONEOFF_LABEL, PROJECT_LABEL, WORKDIR_LABEL,
                                         ContainerInfo)
from stacktui.core.health.status import HEALTHY, NO_CHECK, collect
from stacktui.core.loader import project_from_labels

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import Endpoint


@dataclass
class ProjectSummary:
    project: str
    engine: str  # the context's name, or the engine's address
    services: list[str]
    running: int  # services with a running container
    healthy: int  # running services whose healthcheck or probe passes, not stale
    stale: int  # services living in a namespace their owner no longer has
    working_dir: str
    config_files: list[str]
    stale_services: list[str] = field(default_factory=list)
    unchecked: int = 0  # running services with neither healthcheck nor probe, not stale: running, not "healthy"

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "engine": self.engine, "services": self.services,
                "running": self.running, "healthy": self.healthy, "no_healthcheck": self.unchecked,
                "stale": self.stale,
                "working_dir": self.working_dir, "config_files": self.config_files,
                "stale_services": self.stale_services}


@dataclass
class EngineProjects:
    """What one engine answered: its projects, or why it could not be asked."""

    engine: str
    host: str
    projects: list[ProjectSummary] = field(default_factory=list)
    error: str | None = None


def project_containers(engine: "Engine") -> dict[str, list[ContainerInfo]]:
    """Every Compose container on the engine, inspected, by project (one-off `run` containers left out)."""
    ids = [s["Id"] for s in engine.containers(all=True, filters={"label": [PROJECT_LABEL]})
           if (s.get("Labels") or {}).get(ONEOFF_LABEL) != "True"]
    with ThreadPoolExecutor(INSPECT_THREADS) as pool:
        found = list(pool.map(engine._inspect_if_there, ids))
    by_project: dict[str, list[ContainerInfo]] = {}
    for c in found:
        if c is not None and c.project:
            by_project.setdefault(c.project, []).append(c)
    for members in by_project.values():
        members.sort(key=lambda c: (c.service, c.number))
    return by_project


def summarize(engine: "Engine", label: str, name: str, containers: list[ContainerInfo]) -> ProjectSummary:
    project = project_from_labels(engine, name, containers, details=False)
    rows = collect(project, containers)
    first = containers[0].labels
    return ProjectSummary(
        project=name, engine=label, services=sorted(project.services),
        running=sum(1 for r in rows if r.state.startswith("running")),
        healthy=sum(1 for r in rows if r.health == HEALTHY),
        unchecked=sum(1 for r in rows if r.health == NO_CHECK),
        stale=sum(1 for r in rows if r.stale),
        working_dir=first.get(WORKDIR_LABEL, ""),
        config_files=[f for f in first.get(FILES_LABEL, "").split(",") if f],
        stale_services=sorted(r.service for r in rows if r.stale),
    )


def list_projects(engine: "Engine", label: str) -> list[ProjectSummary]:
    """The engine's projects by name."""
    return [summarize(engine, label, name, members)
            for name, members in sorted(project_containers(engine).items())]


def list_all(endpoints: list["Endpoint"], connect: Callable[["Endpoint"], "Engine"]) -> list[EngineProjects]:
    """Each engine's projects, asked at once; an engine that does not answer is reported, not fatal."""
    from stacktui.core.errors import StackError

    def one(endpoint: "Endpoint") -> EngineProjects:
        out = EngineProjects(endpoint.label, endpoint.host)
        try:
            engine = connect(endpoint)
        except StackError as exc:
            out.error = str(exc)
            return out
        try:
            out.projects = list_projects(engine, endpoint.label)
        finally:
            engine.close()
        return out

    if len(endpoints) == 1:
        return [one(endpoints[0])]
    with ThreadPoolExecutor(len(endpoints)) as pool:
        return list(pool.map(one, endpoints))
