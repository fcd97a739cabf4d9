"""Restart operations as `r`, `R` and `stacktui restart` reach them: plan from the live containers, then run.

The plan is always built from the containers as they are now, so both faces show
the same steps: a service whose namespace owner has a new container (or none)
is recreated through Compose, not restarted in place.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo, Engine
from stacktui.core.restart.plan import PlanEvent, PlanResult, RestartPlan, Step, build_full_plan, build_plan, execute

__all__ = ["PlanEvent", "PlanResult", "RestartPlan", "Step", "plan_restart", "run_restart"]


def plan_restart(project: Project, engine: Engine, services: Sequence[str] = (), *, everything: bool = False,
                 containers: list[ContainerInfo] | None = None) -> RestartPlan:
    """The steps for `services` (or the whole stack), from `containers` or else a fresh listing.

    A caller passes `containers` only when it has just listed them itself (the CLI,
    which hands the same listing to run_restart); anyone else lets this list them.
    """
    if containers is None:
        containers = engine.project_containers(project.name)
    if everything:
        return build_full_plan(project, containers)
    return build_plan(project, list(services), containers)


def run_restart(plan: RestartPlan, project: Project, engine: Engine, target: ComposeTarget | None, *,
                on_event: Callable[[PlanEvent], None] | None = None, cancel: threading.Event | None = None,
                abort: threading.Event | None = None, timeout: float = 60.0, lock_wait: float = 0.0,
                containers: list[ContainerInfo] | None = None) -> PlanResult:
    """Run the plan under the project's lock. `cancel` stops between steps, `abort` also stops a gate wait.

    A target without files (a project attached from the engine's labels) recreates
    from the files the containers' labels name. Raises Busy when another plan holds
    the project after `lock_wait` seconds; everything else is in the result.
    """
    # The target goes on even without files: its env names the engine Compose must use too.
    return execute(plan, project, engine, target,
                   on_event=on_event, cancel=cancel, timeout=timeout, abort=abort, lock_wait=lock_wait,
                   containers=containers)
