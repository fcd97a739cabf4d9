"""The operations the TUI dispatches, behind one small adapter over core.

The app never imports restart, layout or check code itself: it calls a
`StackActions`, which finds the core functions lazily (so the UI runs, and says
plainly what is missing, when a core module is absent) and turns their results
into the view types below. Tests and the CLI wiring may pass their own
callables with the same signatures as the core functions they replace.

Every method here blocks (engine, Compose CLI, files): the app calls them from
thread workers only.
"""
from __future__ import annotations

import importlib
import inspect
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from stacktui.core.errors import StackError

if TYPE_CHECKING:
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.engine.client import ContainerInfo, Engine
    from stacktui.core.compose.model import Project
    from stacktui.core.health.status import ServiceStatus

# Where each operation lives in core (module, attribute): the interfaces agreed in the brief.
CORE = {
    "build_plan": ("stacktui.core.restart.plan", "build_plan"),
    "execute": ("stacktui.core.restart.plan", "execute"),
    "prepare_separate": ("stacktui.core.layout.prepare", "prepare_separate"),
    "prepare_shared": ("stacktui.core.layout.prepare", "prepare_shared"),
    "prepare_undo": ("stacktui.core.layout.history", "prepare_undo"),
    "apply_change": ("stacktui.core.layout.apply", "apply_change"),
    "run_checks": ("stacktui.core.ops.check", "run_checks"),
}
WHAT = {
    "build_plan": "restart plans", "execute": "restart plans", "prepare_separate": "layout changes",
    "prepare_shared": "layout changes", "prepare_undo": "undo of layout changes",
    "apply_change": "layout changes", "run_checks": "checks",
}


class Unavailable(StackError):
    """This build of stacktui has no core implementation for an operation."""

    exit_code = 1


# --- what the screens show ------------------------------------------------------------------------

@dataclass(frozen=True)
class StepView:
    label: str  # "restart vscode"
    detail: str = ""  # "then waits for: vscode healthy"


@dataclass
class PlanView:
    title: str
    steps: list[StepView]
    plan: Any = None  # the core plan, handed back to run_plan


@dataclass(frozen=True)
class ProgressEvent:
    """One step of progress: restart's PlanEvent, or whatever apply_change reports, normalised."""

    kind: str  # step_started, gate_waiting, gate_passed, step_done, step_failed, plan_done, info
    step: int | None = None  # index into PlanView.steps when known
    service: str = ""
    message: str = ""


@dataclass
class Outcome:
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)  # reason, health output, last logs, steps not run


@dataclass
class ChangeView:
    """A prepared layout change: the diff a user confirms before anything is written."""

    title: str
    diff: str
    file: str = ""
    reason: str = ""
    touched: list[str] = field(default_factory=list)
    change: Any = None


@dataclass(frozen=True)
class FindingView:
    severity: str  # error, warning, info
    kind: str
    service: str | None
    message: str
    hint: str | None = None
    where: str | None = None  # file:line
    fix: str | None = None  # an action id such as "restart:vscode"


Emit = Callable[[ProgressEvent], None]


class StackActions:
    """Core operations for one project, as the TUI needs them. Blocking; call from workers."""

    def __init__(self, project: "Project", engine: "Engine", target: "ComposeTarget | None" = None, *,
                 reload: Callable[[], "Project"] | None = None, **overrides: Callable[..., Any]) -> None:
        unknown = set(overrides) - set(CORE)
        if unknown:
            raise TypeError(f"unknown core operations: {', '.join(sorted(unknown))}")
        self.project = project
        self.engine = engine
        self.target = target
        self._reload = reload
        self._overrides = overrides

    # -- finding core ---------------------------------------------------------------------------

    def core(self, name: str) -> Callable[..., Any]:
        """The callable for one operation; raises Unavailable when this build lacks it."""
        if name in self._overrides:
            return self._overrides[name]
        module_name, attr = CORE[name]
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError):
            raise Unavailable(f"{WHAT[name]} are not available in this build of stacktui",
                              hint=f"{module_name}.{attr} is missing") from None

    def available(self, name: str) -> bool:
        try:
            self.core(name)
            return True
        except Unavailable:
            return False

    def _need_target(self) -> "ComposeTarget":
        if self.target is None or self.project.read_only:
            raise StackError(f"project {self.project.name} was attached from the engine without its compose files"
                             + (f": {self.project.read_only_reason}" if self.project.read_only_reason else ""),
                             hint="run stacktui in the project's folder, or pass -f FILE")
        return self.target

    # -- restart -------------------------------------------------------------------------------

    def restart_plan(self, services: list[str]) -> PlanView:
        plan = self.core("build_plan")(self.project, list(services))
        steps = [StepView(_step_label(s), _step_detail(s)) for s in getattr(plan, "steps", [])]
        what = ", ".join(services) if len(services) < 4 else f"{len(services)} services"
        return PlanView(title=f"Restart {what}", steps=steps, plan=plan)

    def run_plan(self, view: PlanView, emit: Emit, cancel: threading.Event) -> Outcome:
        target = self._need_target()
        steps = list(getattr(view.plan, "steps", []))

        def on_event(event: Any) -> None:
            emit(progress_of(event, steps))

        result = self.core("execute")(view.plan, self.project, self.engine, target,
                                      on_event=on_event, cancel=cancel)
        return outcome_of(result, "restart")

    # -- layout ------------------------------------------------------------------------------------

    def prepare_separate(self, service: str, ports: list[int] | None = None) -> ChangeView:
        prepare = self.core("prepare_separate")
        kwargs: dict[str, Any] = {"ports": ports}
        if _accepts(prepare, "engine"):  # then it can ask the running containers which ports are whose
            kwargs["engine"] = self.engine
        change = prepare(self.project, service, **kwargs)
        return change_view(change, f"Give {service} its own namespaces")

    def prepare_shared(self, service: str, owner: str) -> ChangeView:
        change = self.core("prepare_shared")(self.project, service, owner)
        return change_view(change, f"Share {owner}'s namespaces with {service}")

    def prepare_undo(self) -> ChangeView:
        change = self.core("prepare_undo")(self.project)
        return change_view(change, "Undo the last layout change")

    def apply_change(self, view: ChangeView, emit: Emit, cancel: threading.Event) -> Outcome:
        target = self._need_target()

        def on_event(event: Any) -> None:
            emit(progress_of(event, []))

        result = self.core("apply_change")(view.change, self.project, self.engine, target, on_event=on_event)
        return outcome_of(result, "layout change")

    def share_candidates(self, service: str) -> list[str]:
        """Services whose namespaces `service` could join: any other that joins nobody itself."""
        return [name for name, spec in self.project.services.items()
                if name != service and not spec.namespace_target("network_mode")]

    def reload_project(self) -> "Project":
        if self._reload is None:
            return self.project
        self.project = self._reload()
        return self.project

    # -- checks --------------------------------------------------------------------------------------

    def check(self, containers: list["ContainerInfo"], rows: list["ServiceStatus"]) -> list[FindingView]:
        """Findings from core's checks when this build has them, else from the status rows alone."""
        try:
            run_checks = self.core("run_checks")
        except Unavailable:
            return findings_from_rows(rows)
        return [finding_view(f) for f in run_checks(self.project, self.engine, containers=containers)]


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


# --- turning core results into views (duck-typed: the core types live on other branches) --------------

def _step_label(step: Any) -> str:
    return f"{getattr(step, 'action', 'restart')} {getattr(step, 'service', step)}"


def _step_detail(step: Any) -> str:
    waits = list(getattr(step, "waits_for", None) or [])
    return f"then waits for: {', '.join(map(str, waits))}" if waits else ""


def progress_of(event: Any, steps: list[Any]) -> ProgressEvent:
    """Any core progress event as a ProgressEvent whose `step` indexes the plan's steps (or None).

    Restart's PlanEvent numbers steps from 1 (0 is the plan as a whole); an event may also carry
    the Step itself, or only a service. The service, when given, decides between readings.
    """
    if isinstance(event, ProgressEvent):
        return event
    kind = str(getattr(event, "kind", None) or "info")
    step = getattr(event, "step", None)
    service = str(getattr(event, "service", "") or getattr(step, "service", "") or "")
    index: int | None = None

    def serves(i: int) -> bool:
        return 0 <= i < len(steps) and (not service or getattr(steps[i], "service", None) == service)

    if isinstance(step, int) and not isinstance(step, bool):
        if serves(step - 1) and step >= 1:
            index = step - 1
        elif serves(step) and service:
            index = step
    elif step is not None:
        index = next((i for i, s in enumerate(steps) if s is step or s == step), None)
    if index is None and service and not (isinstance(step, int) and step == 0 and not service):
        index = next((i for i, s in enumerate(steps) if getattr(s, "service", None) == service), None)
    message = getattr(event, "message", None)
    return ProgressEvent(kind, index, service, str(message if message is not None else event if isinstance(event, str) else ""))


def outcome_of(result: Any, what: str) -> Outcome:
    """Restart's PlanResult or layout's ApplyResult (or anything with `ok`) as an Outcome."""
    ok = bool(getattr(result, "ok", True))
    details: list[str] = []
    reason = getattr(result, "reason", None) or getattr(result, "message", None)
    notes = [str(n) for n in getattr(result, "notes", None) or []]
    if ok:
        run = getattr(result, "steps_run", None)
        count = len(run) if isinstance(run, (list, tuple)) else run
        summary = f"{what} done" + (f": {count} step{'s' if count != 1 else ''}" if count is not None else "")
        if reason:
            details.append(str(reason))
        return Outcome(True, summary, details + notes)
    failed = getattr(result, "failed_step", None) or getattr(result, "failed", None)
    where = f" at {failed if isinstance(failed, str) else _step_label(failed)}" if failed else ""
    word = "cancelled" if getattr(result, "cancelled", False) else "failed"
    summary = f"{what} {word}{where}" + (f": {reason}" if reason else "")
    health = getattr(result, "health_output", None)
    if health:
        details.append(f"last healthcheck output: {health}")
    logs = getattr(result, "last_logs", None)
    if logs:
        details.append("last log lines:")
        details.extend(f"  {line}" for line in (logs if isinstance(logs, (list, tuple)) else str(logs).splitlines()))
    not_run = getattr(result, "not_run", None)
    if not_run:
        details.append("not run: " + ", ".join(_step_label(s) for s in not_run))
    stopped = getattr(result, "stopped_not_run", None)
    if stopped:
        details.append("left stopped with their owner: " + ", ".join(map(str, stopped)))
    if getattr(result, "rolled_back", False):
        rollback_ok = getattr(result, "rollback_ok", None)
        details.append("rolled back: the file and containers are as before" if rollback_ok is not False else
                       f"rollback failed: {getattr(result, 'rollback_reason', None) or 'see the log'}")
    return Outcome(False, summary, details + notes)


def change_view(change: Any, title: str) -> ChangeView:
    file = getattr(change, "file", "") or ""
    return ChangeView(
        title=title,
        diff=str(getattr(change, "diff", "") or ""),
        file=str(file),
        reason=str(getattr(change, "reason", "") or ""),
        touched=list(getattr(change, "touched_services", None) or []),
        change=change,
    )


def finding_view(finding: Any) -> FindingView:
    if isinstance(finding, FindingView):
        return finding
    file, line = getattr(finding, "file", None), getattr(finding, "line", None)
    where = f"{file}:{line}" if file and line else (str(file) if file else None)
    return FindingView(
        severity=str(getattr(finding, "severity", "warning")),
        kind=str(getattr(finding, "kind", "")),
        service=getattr(finding, "service", None),
        message=str(getattr(finding, "message", finding)),
        hint=getattr(finding, "hint", None),
        where=where,
        fix=getattr(finding, "fix", None),
    )


def findings_from_rows(rows: Iterable["ServiceStatus"]) -> list[FindingView]:
    """What the status rows alone can tell: stale namespaces, failing probes and healthchecks, exits."""
    out: list[FindingView] = []
    for r in rows:
        if r.stale:
            out.append(FindingView("error", "stale", r.service, r.stale_reason or "stale namespace",
                                   hint="restart it after its namespace owner", fix=f"restart:{r.service}"))
            continue
        if r.probe is not None and not r.probe.ok:
            out.append(FindingView("error", "probe", r.service,
                                   f"probe {r.probe.url} failed: {r.probe.error or r.probe.status_code}",
                                   hint=f"reached via {r.probe.reached_via}", fix=f"restart:{r.service}"))
        if r.docker_health == "unhealthy":
            out.append(FindingView("error", "healthcheck", r.service,
                                   f"healthcheck failing: {r.health_output or 'no output'}", fix=f"restart:{r.service}"))
        if r.container_id is None:
            out.append(FindingView("warning", "missing", r.service, "no container", hint="docker compose up"))
        elif r.state.startswith("exited") and (r.exit_code or r.oom_killed):
            out.append(FindingView("warning", "exited", r.service, f"container {r.state}", fix=f"restart:{r.service}"))
    return out


def parse_fix(fix: str) -> tuple[str, str]:
    """"restart:vscode" -> ("restart", "vscode")."""
    action, _, arg = fix.partition(":")
    return action.strip(), arg.strip()
