"""Ordered, health-gated restarts.

A plan restarts the requested services plus everyone stranded by them: every
service living in one of their namespaces (transitively) and every
`depends_on` dependant with `restart: true`, in topological order. Each step
waits for its gates (health.gates) before the next begins; a failed gate
stops the plan and says which step, why, the last health output and the last
log lines, and lists the steps not run.

A namespace joiner is stopped together with its owner: the owner's restart
strands it anyway, and stopping both at once saves the joiner's stop time. It
is started again, in place (same container), in its own step after the
owner's gates pass. A joiner whose owner has a new container id (recreated)
cannot be started in place ("No such container"); it is recreated through the
Compose CLI (`up -d --no-deps --force-recreate`), which resolves the owner anew.

Only one plan runs per project at a time, across processes (core/lock.py).
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from stacktui.core.compose import cli as composecli
from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.engine.client import ContainerInfo, Engine, lost_engine
from stacktui.core.errors import ConfigError
from stacktui.core.health.gates import GateResult, gate_names, wait_for_gates
from stacktui.core.health.probes import probe_client
from stacktui.core.health.verdict import stack_verdict
from stacktui.core.findings import ERROR
from stacktui.core.ports.host import host_findings
from stacktui.core.namespaces.graph import NAMESPACE_KEYS, Graph, project_graph
from stacktui.core.lock import project_lock
from stacktui.core.compose.model import Project
from stacktui.core.durations import seconds

RESTART, RECREATE = "restart", "recreate"
EVENT_KINDS = ("lock_waiting", "step_started", "gate_waiting", "gate_passed", "step_done", "step_failed",
               "plan_done")
DEFAULT_GRACE = 10.0
LOG_LINES = 20


@dataclass(frozen=True)
class Step:
    service: str
    action: str  # restart (in place) | recreate (Compose CLI)
    waits_for: list[str]  # gate names: running, healthy, "probe URL"
    reason: str = "requested"  # why the service is in the plan
    note: str = ""  # why a recreate, when it is one

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "action": self.action, "waits_for": list(self.waits_for),
                "reason": self.reason, "note": self.note}


@dataclass
class RestartPlan:
    project: str
    requested: list[str]
    steps: list[Step]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "requested": self.requested, "steps": [s.to_json() for s in self.steps]}


@dataclass(frozen=True)
class PlanEvent:
    kind: str  # one of EVENT_KINDS
    step: int  # 1-based; 0 for the plan as a whole
    service: str
    message: str
    at: float = field(default_factory=time.time)


@dataclass
class StepOutcome:
    step: int
    service: str
    action: str
    ok: bool
    container_ids: list[str]
    gates_passed: list[str]
    elapsed: float
    message: str = ""


@dataclass
class PlanResult:
    ok: bool
    steps_run: list[StepOutcome] = field(default_factory=list)
    failed_step: Step | None = None
    reason: str | None = None
    health_output: str | None = None
    last_logs: list[str] = field(default_factory=list)
    not_run: list[Step] = field(default_factory=list)
    cancelled: bool = False
    stopped_not_run: list[str] = field(default_factory=list)  # not-run services left stopped with their owner
    # What `stacktui restart` must name to run the failed step again and start every service left stopped.
    bring_back: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    verified: str = ""  # the final verdict over every service the plan touched

    def bring_back_command(self) -> str | None:
        """The command that starts what the plan left stopped (its failed step first), or None."""
        return f"stacktui restart {' '.join(self.bring_back)}" if self.bring_back else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.verified,
            "cancelled": self.cancelled,
            "steps_run": [asdict(s) for s in self.steps_run],
            "failed_step": self.failed_step.to_json() if self.failed_step else None,
            "reason": self.reason,
            "health_output": self.health_output,
            "last_logs": self.last_logs,
            "not_run": [s.to_json() for s in self.not_run],
            "stopped_not_run": self.stopped_not_run,
            "bring_back": self.bring_back,
            "elapsed": round(self.elapsed, 3),
        }


# --- planning ------------------------------------------------------------------------------------

def _by_service(containers: Iterable[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    out: dict[str, list[ContainerInfo]] = {}
    for c in containers:
        out.setdefault(c.service, []).append(c)
    return out


def needs_recreate(project: Project, service: str, containers: list[ContainerInfo]) -> str | None:
    """Why `service` cannot be restarted in place, or None when it can.

    It cannot when it has no container, or when a container of it joined a
    namespace owner's container that is no longer the owner's (the engine would
    answer "No such container" or rejoin the wrong namespace).
    """
    spec = project.service(service)
    by = _by_service(containers)
    mine = by.get(service, [])
    if not mine:
        return f"{service} has no container"
    for key, owner in spec.namespace_targets().items():
        kind = NAMESPACE_KEYS[key]
        owner_ids = {c.id for c in by.get(owner, [])}
        for c in mine:
            joined = c.joined(kind)
            if joined and joined not in owner_ids:
                return f"{c.name} joined container {joined[:12]}, which is no longer {owner}'s"
    return None


def build_plan(project: Project, services: list[str], containers: list[ContainerInfo] | None = None,
               *, graph: Graph | None = None) -> RestartPlan:
    """The steps, in execution order. With `containers`, actions say where a recreate is needed."""
    if not services:
        raise ConfigError("name at least one service to restart", hint="or pass --all for the whole stack")
    for s in services:
        project.service(s)  # an unknown name is a ConfigError listing the known ones
    graph = graph or project_graph(project)
    why = graph.restart_set(services)
    steps: list[Step] = []
    recreated: set[str] = set()
    for name in graph.order(why):
        action, note = RESTART, ""
        if containers is not None:
            owners = sorted(set(project.services[name].namespace_targets().values()) & recreated)
            note = f"{owners[0]} gets a new container first" if owners else (
                needs_recreate(project, name, containers) or "")
            if note:
                action = RECREATE
                recreated.add(name)
        steps.append(Step(name, action, gate_names(project, name, containers), why[name], note))
    return RestartPlan(project.name, list(services), steps)


def build_full_plan(project: Project, containers: list[ContainerInfo] | None = None) -> RestartPlan:
    """The whole stack in order (the TUI's R, `stacktui restart --all`)."""
    plan = build_plan(project, list(project.services), containers)
    plan.requested = ["--all"]
    return plan


# --- execution -----------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def grace_seconds(project: Project, service: str) -> int:
    """`stop_grace_period` as the whole seconds the engine's stop takes (Compose's default 10 s)."""
    value = (project.services[service].raw or {}).get("stop_grace_period")
    if value in (None, ""):
        return int(DEFAULT_GRACE)
    if isinstance(value, (int, float)):
        return max(0, int(value))
    parts = _DURATION.findall(str(value))
    if not parts:
        return int(DEFAULT_GRACE)
    return max(0, int(round(sum(float(n) * _UNIT[u] for n, u in parts))))


def _riders(plan: RestartPlan, index: int, graph: Graph) -> list[str]:
    """Later steps living in a namespace of this step's service, restarted in place: stopped with it."""
    service = plan.steps[index].service
    joiners = set(graph.namespace_dependants(service))
    return [s.service for s in plan.steps[index + 1:] if s.service in joiners]


def _compose_target(project: Project, target: ComposeTarget | None) -> ComposeTarget:
    if target is not None and target.files:
        return target
    files = tuple(f for f in project.files if Path(f).is_file())
    if not files:
        raise ConfigError(f"cannot recreate a service of {project.name}: its compose files are not at hand",
                          hint="run stacktui in the project folder or pass -f FILE")
    # The engine stacktui resolved travels in the target's env, files or not: Compose must use it too.
    return ComposeTarget(files=files, project_name=project.name, project_directory=project.working_dir,
                         env=dict(target.env) if target is not None else {})


def execute(
    plan: RestartPlan,
    project: Project,
    engine: Engine,
    target: ComposeTarget | None,
    on_event: Callable[[PlanEvent], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 60.0,
    *,
    abort: threading.Event | None = None,
    lock_wait: float = 0.0,
    containers: list[ContainerInfo] | None = None,
) -> PlanResult:
    """Run the plan step by step. `cancel` stops it between steps; `abort` also stops a gate wait.

    `containers` may hand over the listing the plan was just built from (it is
    used only when the lock was free at once). Raises Busy when another plan
    holds the project (after `lock_wait` seconds).
    """
    from stacktui.core.errors import Busy

    def emit(kind: str, step: int, service: str, message: str) -> None:
        if on_event is not None:
            on_event(PlanEvent(kind, step, service, message))

    what = "restart " + (", ".join(plan.requested) or "(nothing)")
    with ExitStack() as held:
        try:
            held.enter_context(project_lock(project.name, what, wait=0.0))
        except Busy as busy:
            if lock_wait <= 0:
                raise
            emit("lock_waiting", 0, "", f"{busy.message}; waiting up to {seconds(lock_wait)}")
            held.enter_context(project_lock(project.name, what, wait=lock_wait))
            containers = None  # the other plan changed them
        return _run(plan, project, engine, target, emit, cancel, abort, timeout, containers)


def _run(plan: RestartPlan, project: Project, engine: Engine, target: ComposeTarget | None,
         emit: Callable[[str, int, str, str], None], cancel: threading.Event | None,
         abort: threading.Event | None, timeout: float,
         containers: list[ContainerInfo] | None) -> PlanResult:
    started = time.monotonic()
    graph = project_graph(project)
    result = PlanResult(ok=True)
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="restart")
    urls = [u for s in plan.steps if (u := project.services[s.service].x.health)]
    # Made beside the first step's restart (importing httpx alone is 0.1-0.2 s): only a gate with
    # a probe needs it, and no gate runs before a restart has returned.
    client_made = pool.submit(probe_client, len(urls), urls) if urls else None
    client = None
    stopped_early: set[str] = set()
    total = len(plan.steps)
    # One listing up front; after that each gate's fresh look updates this view (a listing
    # inspects every container of the project, which would cost more than a gate's poll).
    known = list(containers) if containers is not None else engine.project_containers(project.name)
    try:
        for index, step in enumerate(plan.steps):
            number = index + 1
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                result.ok = False
                result.reason = f"cancelled before step {number} ({step.service})"
                result.not_run = plan.steps[index:]
                break
            step_started = time.monotonic()
            containers = known
            mine = [c for c in containers if c.service == step.service]
            action = step.action
            # Decided again now: an owner recreated by an earlier step has a new id.
            why_recreate = needs_recreate(project, step.service, containers) if action == RESTART else None
            if why_recreate:
                action = RECREATE
            riders = [r for r in _riders(plan, index, graph) if r not in stopped_early]
            rider_ids = [c.id for c in containers if c.service in riders and c.state in ("running", "restarting",
                                                                                          "paused")]
            note = f" ({step.reason})" if step.reason != "requested" else ""
            if action == RESTART and step.service in stopped_early:
                note += "; starting it again in place, as it was stopped with its owner"
            if action != step.action or step.note:
                note += f"; recreating: {why_recreate or step.note}"
            if rider_ids:
                note += f"; stopping {', '.join(riders)} with it"
            emit("step_started", number, step.service, f"{action} {step.service}{note}")
            held = ports_held(project, engine, containers, step.service)
            if held:
                _fail(result, plan, index, engine, project,
                      f"{action} of {step.service} not started: {held}", None, mine)
                emit("step_failed", number, step.service, result.reason or "")
                break
            try:
                futures = [pool.submit(engine.stop, cid, grace_seconds(project, _service_of(containers, cid)))
                           for cid in rider_ids]
                if action == RESTART:
                    grace = grace_seconds(project, step.service)
                    if step.service in stopped_early:
                        futures += [pool.submit(engine.start, c.id) for c in mine]
                    else:
                        futures += [pool.submit(engine.restart, c.id, grace) for c in mine]
                    for f in futures:
                        f.result()
                else:
                    compose = _compose_target(project, target)
                    rider_wait = futures
                    composecli.run(compose, ["up", "-d", "--no-deps", "--force-recreate", step.service])
                    for f in rider_wait:
                        f.result()
                stopped_early.update(riders)
                known = [replace(c, state="exited") if c.id in rider_ids else c for c in known]
            except Exception as exc:  # the engine's or Compose's refusal is the reason
                stopped_early.update(riders)
                reason = f"{action} of {step.service} failed: {_short(exc, engine)}"
                down = [o for o in project.services[step.service].namespace_targets().values()
                        if o not in plan_services(plan) and not any(
                            c.service == o and c.state == "running" for c in containers)]
                if down:
                    reason += f" (its namespace owner {down[0]} is not running: `stacktui restart {down[0]}`)"
                _fail(result, plan, index, engine, project, reason, None, mine)
                emit("step_failed", number, step.service, result.reason or "")
                break
            emit("gate_waiting", number, step.service, "waiting for " + ", ".join(step.waits_for))
            try:
                if client is None and client_made is not None and project.services[step.service].x.health:
                    client = client_made.result()
                gate = wait_for_gates(
                    project, engine, step.service, timeout, abort,
                    client=client,
                    on_pass=lambda name, detail, n=number, s=step.service: emit(  # type: ignore[misc]
                        "gate_passed", n, s, f"{name}: {detail}"),
                    known=known if action == RESTART else None,
                )
            except Exception as exc:  # the engine went away mid-gate: this step failed; nothing after it runs
                _fail(result, plan, index, engine, project,
                      f"step {number}/{total} {step.service}: {_short(exc, engine)} while waiting for its gates",
                      None, mine)
                emit("step_failed", number, step.service, result.reason or "")
                break
            fresh = {c.service for c in gate.containers}
            known = [c for c in known if c.service not in fresh] + gate.containers
            if not gate.ok:
                _fail(result, plan, index, engine, project,
                      f"step {number}/{total} {step.service}: {gate.reason}", gate, mine)
                result.cancelled = abort is not None and abort.is_set()
                emit("step_failed", number, step.service, result.reason or "")
                break
            elapsed = time.monotonic() - step_started
            result.steps_run.append(StepOutcome(number, step.service, action, True, gate.container_ids,
                                                gate.passed, round(elapsed, 3)))
            emit("step_done", number, step.service, f"{step.service} back in {elapsed:.2f} s")
        if result.ok:
            _final_verdict(result, plan, project, engine)
        if result.not_run:
            result.stopped_not_run = [s.service for s in result.not_run if s.service in stopped_early]
            result.bring_back = bring_back(graph, result)
        result.elapsed = time.monotonic() - started
        if result.ok:
            emit("plan_done", 0, "", f"{len(result.steps_run)} step(s) done in {result.elapsed:.2f} s")
        else:
            emit("plan_done", 0, "", result.reason or "plan stopped")
        return result
    finally:
        if client is None and client_made is not None and not client_made.cancel():
            try:
                client = client_made.result()
            except Exception:  # never used, and its failure changes nothing
                client = None
        if client is not None:
            client.close()
        pool.shutdown(wait=False)


def _final_verdict(result: PlanResult, plan: RestartPlan, project: Project, engine: Engine) -> None:
    """Every step passed its gates; the plan is done only when every service it touched still works."""
    verdict = stack_verdict(project, engine.project_containers(project.name), [s.service for s in plan.steps],
                            proc="/proc" if engine.is_local() else None)
    result.verified = verdict.text()
    if not verdict.ok:
        result.ok = False
        result.reason = verdict.text()


def ports_held(project: Project, engine: Engine, containers: list[ContainerInfo], service: str) -> str:
    """The host ports `service` publishes that someone else holds, and who: said before its start, since the
    engine's refusal otherwise shows only as a container that never runs."""
    if not project.services[service].ports:
        return ""
    found = [f for f in host_findings(project, engine, containers, services=[service]) if f.severity == ERROR]
    return "; ".join(f"{f.message} ({f.hint})" if f.hint else f.message for f in found)


def bring_back(graph: Graph, result: PlanResult) -> list[str]:
    """The services a restart must name to run the stopped plan's failed step again and start everything it left
    stopped. A service left stopped is named unless it joins the failed step's namespaces (its restart takes it
    along): in a fan, a sibling stopped with the owner shares the owner's namespaces, not the failed joiner's."""
    if not result.stopped_not_run:
        return []
    first = [result.failed_step.service] if result.failed_step else [result.not_run[0].service]
    covered = graph.restart_set(first)
    return first + [s for s in result.stopped_not_run if s not in covered]


def plan_services(plan: RestartPlan) -> set[str]:
    return {s.service for s in plan.steps}


def _service_of(containers: list[ContainerInfo], container_id: str) -> str:
    return next(c.service for c in containers if c.id == container_id)


def _short(exc: BaseException, engine: Engine | None = None) -> str:
    gone = lost_engine(exc, getattr(engine, "host", None))
    if gone is not None:
        return gone.message
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())


def _fail(result: PlanResult, plan: RestartPlan, index: int, engine: Engine, project: Project, reason: str,
          gate: GateResult | None, before: list[ContainerInfo]) -> None:
    step = plan.steps[index]
    result.ok = False
    result.failed_step = step
    result.reason = reason
    result.not_run = plan.steps[index + 1:]
    ids = gate.container_ids if gate and gate.container_ids else [c.id for c in before]
    if gate is not None:
        result.health_output = gate.health_output
    if result.health_output is None:
        try:
            fresh = [c for c in engine.project_containers(project.name) if c.service == step.service]
            result.health_output = next((c.health_output for c in fresh if c.health_output), None)
            ids = ids or [c.id for c in fresh]
        except Exception:  # the report goes on without it
            pass
    for cid in ids[:1]:
        try:
            result.last_logs = engine.logs_tail(cid, LOG_LINES)
        except Exception:  # a removed container has no logs left to show
            result.last_logs = []
