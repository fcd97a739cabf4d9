"""Every check at once: static from the files, on the host, live in shared namespaces, stale namespaces."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.findings import ERROR, STALE_NAMESPACE, Finding, ordered
from stacktui.core.ports.host import host_findings
from stacktui.core.ports.live import Listener, live_findings, namespace_listeners
from stacktui.core.compose.model import Project
from stacktui.core.ports.static import static_findings
from stacktui.core.health.stale import find_stale, running_services, stale_fix

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine


def stale_findings(project: Project, containers: list[ContainerInfo]) -> list[Finding]:
    out = []
    verdicts = find_stale(project, containers)
    running = running_services(containers)
    for service, verdict in verdicts.items():
        fix = stale_fix(verdicts, service, running)
        out.append(Finding.at(
            project.source.locate(service, "network_mode") if project.source is not None else None,
            severity=ERROR, kind=STALE_NAMESPACE, service=service, port=None,
            message=f"{service} lives in a stale namespace: {verdict.reason}; its own healthcheck may still pass",
            hint=fix.text(), fix=fix.action))
    return out


REMOTE = "not checked: remote engine"


def local_only_notes(engine: "Engine | None") -> list[str]:
    """What run_checks could not look at because the engine is not on this machine."""
    if engine is None or engine.is_local():
        return []
    return [f"host ports: {REMOTE} (bound on the engine's host; only the engine's own containers were compared)",
            f"namespace inodes in /proc: {REMOTE} (stale namespaces judged from container ids and start times)"]


def run_checks(project: Project, engine: "Engine | None", containers: list[ContainerInfo] | None = None,
               *, static: bool = True, host: bool = True, live: bool = True,
               listeners: list[Listener] | None = None) -> list[Finding]:
    """All findings, those from files first in file and line order.

    Without an engine only the static checks run. A project attached from labels
    (no files) has no static checks. `listeners` (from namespace_listeners) saves
    reading the namespaces twice when the caller shows them too.
    """
    findings: list[Finding] = []
    if static:
        findings += static_findings(project)
    if engine is not None and (host or live):
        if containers is None:
            containers = engine.project_containers(project.name)
        if host:
            findings += host_findings(project, engine, containers)
        if live:
            findings += live_findings(project, engine, containers, listeners)
            findings += stale_findings(project, containers)
    return ordered(findings)


@dataclass
class CheckReport:
    """What `stacktui check` shows: the findings, and who listens on each port in the shared namespaces."""

    findings: list[Finding]
    listeners: list[Listener] = field(default_factory=list)


def check_project(project: Project, engine: "Engine | None") -> CheckReport:
    """Every check, the namespaces' listeners read once for both; without an engine, the files only."""
    if engine is None:
        return CheckReport(run_checks(project, None))
    containers = engine.project_containers(project.name)
    listeners = namespace_listeners(project, engine, containers)
    return CheckReport(run_checks(project, engine, containers, listeners=listeners), listeners)
