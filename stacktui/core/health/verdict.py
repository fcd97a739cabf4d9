"""The last word of every plan (restart, heal, layout apply, rollback): do the services it touched work?

What a user would check afterwards, read from one fresh listing: each touched
service runs, lives in its owner's current namespaces (not stale), and Docker
does not call it unhealthy. A problem names the repair, from the one stale fix
`check` gives. The gates already passed the healthcheck and probes step by step;
this catches what a later step, or somebody else, changed meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.health.stale import find_stale, running_services, stale_fix
from stacktui.core.namespaces.groups import namespace_root

KINDS = ("network_mode", "ipc")


@dataclass
class Verdict:
    checked: list[str]
    problems: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # the services the problems are about

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, service: str, problem: str) -> None:
        self.failing.append(service)
        self.problems.append(problem)

    def text(self) -> str:
        if self.ok:
            return f"verified: {', '.join(self.checked) or 'nothing'} running, in their owners' current namespaces"
        return "not done: " + "; ".join(self.problems)


def stack_verdict(project: Project, containers: list[ContainerInfo], services: Iterable[str], *,
                  proc: str | None = "/proc") -> Verdict:
    touched = [s for s in dict.fromkeys(services) if s in project.services]
    verdicts = find_stale(project, containers, proc=proc)
    running = running_services(containers)
    verdict = Verdict(touched)
    for service in touched:
        mine = [c for c in containers if c.service == service]
        if service not in running:
            state = mine[0].state if mine else "missing"
            verdict.fail(service, f"{service} is {state}")
        elif service in verdicts:
            fix = stale_fix(verdicts, service, running)
            verdict.fail(service, f"{service} is stale ({verdicts[service].reason}): {fix.text()}")
        elif any(c.health == "unhealthy" for c in mine):
            verdict.fail(service, f"Docker reports {service} unhealthy")
    return verdict


def namespace_mates(projects: Iterable[Project], containers: list[ContainerInfo], services: Iterable[str], *,
                    proc: str | None = "/proc") -> list[str]:
    """The services, other than `services`, that share a network or IPC namespace with one of them in any
    of `projects` (the file before and after a change; `containers` were made from the first) and are
    well now (running, not stale, not unhealthy). A change to a namespace's owner can strand its
    joiners, so a plan's "done" asks about them too; one already unwell is the stack's state before the
    plan, not the plan's doing."""
    files = list(projects)
    wanted = set(services)
    mates: list[str] = []
    for project in files:
        roots = {namespace_root(project, s, kind) for s in wanted if s in project.services for kind in KINDS}
        mates += [n for n in project.services if n not in wanted
                  and any(namespace_root(project, n, kind) in roots for kind in KINDS)]
    mates = list(dict.fromkeys(mates))
    if not mates or not files:
        return []
    now = stack_verdict(files[0], containers, mates, proc=proc)
    return [m for m in mates if m not in now.failing]
