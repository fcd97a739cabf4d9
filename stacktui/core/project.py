"""Load a Project: Compose's effective config plus the source files for lines and extensions."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacktui.core import composecli
from stacktui.core.composecli import ComposeTarget
from stacktui.core.errors import ConfigError
from stacktui.core.model import DependsOn, Extension, PortSpec, Project, ServiceSpec
from stacktui.core.source import SourceIndex

if TYPE_CHECKING:
    from stacktui.core.engine import Engine


def load_project(target: ComposeTarget) -> Project:
    """The project as Compose sees it. Raises ConfigError naming file and line."""
    if not target.files:
        raise ConfigError("no compose file given", hint="pass -f FILE, or attach with -p NAME")
    source = SourceIndex.load(list(target.files))  # YAML errors with lines come first
    config = composecli.config_json(target)
    return project_from_config(config, source, target)


def project_from_config(config: dict[str, Any], source: SourceIndex | None, target: ComposeTarget) -> Project:
    raw_services = config.get("services") or {}
    services: dict[str, ServiceSpec] = {}
    for name in _declared_order(raw_services, source):
        services[name] = _service(name, raw_services[name], source)
    first = target.files[0] if target.files else Path.cwd()
    working_dir = target.project_directory or first.parent
    return Project(
        name=str(config.get("name") or target.project_name or working_dir.name),
        working_dir=Path(working_dir),
        files=list(target.files),
        services=services,
        source=source,
    )


def _declared_order(raw_services: dict[str, Any], source: SourceIndex | None) -> list[str]:
    """Services in the order the files declare them (Compose's JSON sorts them by name)."""
    order: list[str] = []
    for sf in source.files if source else []:
        order += [n for n in sf.services() if n in raw_services and n not in order]
    return order + [n for n in raw_services if n not in order]


def _service(name: str, raw: dict[str, Any], source: SourceIndex | None) -> ServiceSpec:
    where = source.locate(name) if source else None
    ports: list[PortSpec] = []
    for i, p in enumerate(raw.get("ports") or []):
        ports.append(PortSpec(
            target=int(p.get("target")),
            published=str(p["published"]) if p.get("published") not in (None, "") else None,
            host_ip=p.get("host_ip") or "",
            protocol=p.get("protocol") or "tcp",
            where=source.locate(name, "ports", i) if source else None,
        ))
    depends = {
        dep: DependsOn(dep, spec.get("condition", "service_started"), bool(spec.get("restart")),
                       bool(spec.get("required", True)))
        for dep, spec in (raw.get("depends_on") or {}).items()
    }
    ext_raw = source.extension(name) if source else {}
    return ServiceSpec(
        name=name,
        image=raw.get("image"),
        network_mode=raw.get("network_mode"),
        ipc=raw.get("ipc"),
        pid=raw.get("pid"),
        ports=ports,
        expose=[str(e) for e in raw.get("expose") or []],
        depends_on=depends,
        volumes_from=[str(v) for v in raw.get("volumes_from") or []],
        healthcheck=raw.get("healthcheck"),
        environment=dict(raw.get("environment") or {}),
        x=_extension(name, ext_raw, source),
        where=where,
        raw=raw,
    )


def _extension(service: str, raw: dict[str, Any], source: SourceIndex | None) -> Extension:
    where = source.locate(service, "x-stacktui") if source else None
    health = raw.get("health")
    if health is not None and not (isinstance(health, str) and health.startswith(("http://", "https://"))):
        raise ConfigError(f"x-stacktui.health of {service} must be an http(s) URL, got {health!r}", where=where)
    listens: list[int] = []
    for item in raw.get("listens") or []:
        try:
            port = int(item)
        except (TypeError, ValueError):
            port = -1
        if not 1 <= port <= 65535:
            raise ConfigError(f"x-stacktui.listens of {service}: {item!r} is not a port (1-65535)",
                              where=source.locate(service, "x-stacktui", "listens") if source else where)
        listens.append(port)
    return Extension(health=health, listens=tuple(listens))


def attach_project(engine: "Engine", name: str) -> Project:
    """A read-only Project rebuilt from a running project's container labels (no files needed)."""
    from stacktui.core.errors import ConfigError

    containers = engine.project_containers(name)
    if not containers:
        raise ConfigError(f"no containers of project {name!r} on this engine",
                          hint="check the name with `docker compose ls`, or pass -f FILE")
    by_id = {c.id: c.service for c in containers}
    services: dict[str, ServiceSpec] = {}
    for c in containers:
        if c.service in services:
            continue
        modes: dict[str, str | None] = {}
        for kind, mode in (("network_mode", c.network_mode), ("ipc", c.ipc_mode), ("pid", c.pid_mode)):
            joined = mode.split(":", 1)[1] if mode.startswith("container:") else None
            if joined and joined in by_id:
                modes[kind] = f"service:{by_id[joined]}"
            elif joined:
                modes[kind] = mode
            else:
                modes[kind] = mode or None
        depends: dict[str, DependsOn] = {}
        for item in filter(None, c.labels.get("com.docker.compose.depends_on", "").split(",")):
            dep, _, rest = item.partition(":")
            cond, _, restart = rest.partition(":")
            depends[dep] = DependsOn(dep, cond or "service_started", restart == "true")
        services[c.service] = ServiceSpec(
            name=c.service, image=c.image, network_mode=modes["network_mode"], ipc=modes["ipc"],
            pid=modes["pid"], depends_on=depends,
            healthcheck={"test": ["from-engine"]} if c.health else None,
        )
    first = containers[0]
    files = [Path(f) for f in first.labels.get("com.docker.compose.project.config_files", "").split(",") if f]
    return Project(name=name, working_dir=Path(first.labels.get("com.docker.compose.project.working_dir", ".")),
                   files=files, services=services, read_only=True)
