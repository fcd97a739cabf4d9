"""The TUI's road to core: core.ops bound to one project, with its results turned into what the screens show.

The app never imports restart, layout or check code itself: it calls a
`StackOperations`, which calls the same core.ops functions the CLI commands
call (so `r` shows the plan `stacktui restart SERVICE --dry-run` prints) and
turns their typed results into the view types below.

Every method here blocks (engine, Compose CLI, files): the app calls them from
thread workers only. core.ops is imported inside the methods: restart and
layout pull in httpx, ssl and ruamel, which the first frame does not need.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from stacktui.core.errors import StackError

if TYPE_CHECKING:
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.compose.model import Project
    from stacktui.core.engine.client import ContainerInfo, Engine
    from stacktui.core.findings import Finding
    from stacktui.core.layout.apply import ApplyEvent, ApplyResult
    from stacktui.core.layout.edit import LayoutChange
    from stacktui.core.restart.plan import PlanEvent, PlanResult, RestartPlan, Step


# --- what the screens show ------------------------------------------------------------------------

@dataclass(frozen=True)
class StepView:
    label: str  # "restart vscode"
    detail: str = ""  # "then waits for: vscode healthy"
    step: "Step | None" = None  # the core step it shows


@dataclass
class PlanView:
    title: str
    plan: "RestartPlan"  # handed back to run_plan

    @property
    def steps(self) -> list[StepView]:
        return [step_view(s) for s in self.plan.steps]


@dataclass(frozen=True)
class ProgressEvent:
    """One step of progress, from restart's PlanEvent or layout's ApplyEvent."""

    kind: str  # step_started, gate_waiting, gate_passed, step_done, step_failed, plan_done; write, up, ...
    step: int | None = None  # index into PlanView.steps when the event belongs to one step
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
    change: "LayoutChange"
    compare: tuple[str, str | None] | None = None  # (service, the owner it would join): latency beside the diff

    @property
    def diff(self) -> str:
        return self.change.diff

    @property
    def file(self) -> str:
        return str(self.change.file)

    @property
    def reason(self) -> str:
        return self.change.reason

    @property
    def touched(self) -> list[str]:
        return list(self.change.touched_services)


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


class StackOperations:
    """core.ops for one project, as the TUI needs them. Blocking; call from workers."""

    def __init__(self, project: "Project", engine: "Engine", target: "ComposeTarget | None" = None, *,
                 reload: Callable[[], "Project"] | None = None) -> None:
        self.project = project
        self.engine = engine
        self.target = target
        self._reload = reload

    def _need_target(self) -> "ComposeTarget":
        if self.target is None or self.project.read_only:
            raise StackError(f"project {self.project.name} was attached from the engine without its compose files"
                             + (f": {self.project.read_only_reason}" if self.project.read_only_reason else ""),
                             hint="run stacktui in the project's folder, or pass -f FILE")
        return self.target

    # -- restart -------------------------------------------------------------------------------

    def restart_plan(self, services: list[str]) -> PlanView:
        """The plan from the containers as they are now: the one `stacktui restart --dry-run` prints."""
        from stacktui.core.ops.restart import plan_restart

        plan = plan_restart(self.project, self.engine, services)
        what = ", ".join(services) if len(services) < 4 else f"{len(services)} services"
        return PlanView(title=f"Restart {what}", plan=plan)

    def run_plan(self, view: PlanView, emit: Emit, cancel: threading.Event) -> Outcome:
        from stacktui.core.ops.restart import run_restart

        target = self._need_target()
        result = run_restart(view.plan, self.project, self.engine, target,
                             on_event=lambda e: emit(plan_progress(e)), cancel=cancel)
        return restart_outcome(result)

    # -- layout ------------------------------------------------------------------------------------

    def prepare_separate(self, service: str, ports: list[int] | None = None) -> ChangeView:
        """Raises PortsUnknown, with the candidates to ask the user about, when nothing says which ports move."""
        from stacktui.core.ops.layout import prepare_separate

        change = prepare_separate(self.project, service, ports, engine=self.engine)
        return self._asked(ChangeView(f"Give {service} its own namespaces", change, compare=(service, None)))

    def prepare_shared(self, service: str, owner: str) -> ChangeView:
        from stacktui.core.ops.layout import prepare_shared

        return self._asked(ChangeView(f"Share {owner}'s namespaces with {service}",
                                      prepare_shared(self.project, service, owner), compare=(service, owner)))

    def prepare_undo(self) -> ChangeView:
        from stacktui.core.ops.layout import prepare_undo

        return self._asked(ChangeView("Undo the last layout change", prepare_undo(self.project)))

    def _asked(self, view: ChangeView) -> ChangeView:
        """The diff is shown only when Compose accepts the changed text, as the apply will ask it first."""
        from stacktui.core.ops.layout import ask_compose

        if view.change.changed:
            ask_compose(view.change, self._need_target())
        return view

    def apply_change(self, view: ChangeView, emit: Emit, cancel: threading.Event) -> Outcome:
        """`cancel` is not asked: an apply is one step that finishes or puts everything back."""
        from stacktui.core.ops.layout import apply_change

        target = self._need_target()
        result = apply_change(view.change, self.project, self.engine, target,
                              on_event=lambda e: emit(apply_progress(e)))
        return apply_outcome(result)

    def latency_comparison(self, service: str, owner: str | None) -> str:
        """One line: the measured cost of the layout in place and of the other one."""
        from stacktui.core.ops.latency import compare_layouts

        return compare_layouts(self.project, self.engine, service, owner).words()

    def latency_lines(self, service: str) -> list[str]:
        """Every path to the service's ports, measured now (the detail view's `m`)."""
        from stacktui.core.ops.latency import measure

        report = measure(self.project, self.engine, [service])
        return [f"latency, {report.count} asks per path:", *report.lines()]

    def share_candidates(self, service: str) -> list[str]:
        from stacktui.core.ops.layout_show import share_candidates

        return share_candidates(self.project, service)

    def reload_project(self) -> "Project":
        if self._reload is None:
            return self.project
        self.project = self._reload()
        return self.project

    # -- checks --------------------------------------------------------------------------------------

    def check(self, containers: list["ContainerInfo"]) -> list[FindingView]:
        """Every check core has, on the containers the status rows were made from."""
        from stacktui.core.ops.check import run_checks

        return [finding_view(f) for f in run_checks(self.project, self.engine, containers=containers)]


# --- core results as views ------------------------------------------------------------------------------

def step_view(step: "Step") -> StepView:
    detail = f"then waits for: {', '.join(step.waits_for)}" if step.waits_for else ""
    if step.note:
        detail = f"{detail}; recreate: {step.note}" if detail else f"recreate: {step.note}"
    return StepView(f"{step.action} {step.service}", detail, step)


def plan_progress(event: "PlanEvent") -> ProgressEvent:
    """Restart numbers its steps from 1, with 0 for the plan as a whole; views index them from 0."""
    return ProgressEvent(event.kind, event.step - 1 if event.step >= 1 else None, event.service, event.message)


def apply_progress(event: "ApplyEvent") -> ProgressEvent:
    return ProgressEvent(event.kind, None, event.service or "", event.message)


def restart_outcome(result: "PlanResult") -> Outcome:
    if result.ok:
        count = len(result.steps_run)
        return Outcome(True, f"restart done: {count} step{'s' if count != 1 else ''}",
                       [result.reason] if result.reason else [])
    where = f" at {result.failed_step.action} {result.failed_step.service}" if result.failed_step else ""
    word = "cancelled" if result.cancelled else "failed"
    details: list[str] = []
    if result.health_output:
        details.append(f"last healthcheck output: {result.health_output}")
    if result.last_logs:
        details.append("last log lines:")
        details.extend(f"  {line}" for line in result.last_logs)
    if result.not_run:
        details.append("not run: " + ", ".join(f"{s.action} {s.service}" for s in result.not_run))
    if result.stopped_not_run:
        command = result.bring_back_command()
        details.append("left stopped with their owner: " + ", ".join(result.stopped_not_run)
                       + (f" (`{command}` brings them back)" if command else ""))
    return Outcome(False, f"restart {word}{where}" + (f": {result.reason}" if result.reason else ""), details)


def apply_outcome(result: "ApplyResult") -> Outcome:
    notes = list(result.notes)
    if result.ok:
        return Outcome(True, "layout change done", notes)
    where = f" at {result.failed}" if result.failed else ""
    details: list[str] = []
    if result.rolled_back:
        details.append("rolled back: the file and containers are as before" if result.rollback_ok is not False else
                       f"rollback failed: {result.rollback_reason or 'see the log'}")
    return Outcome(False, f"layout change failed{where}" + (f": {result.reason}" if result.reason else ""),
                   details + notes)


def finding_view(finding: "Finding") -> FindingView:
    where = f"{finding.file}:{finding.line}" if finding.file and finding.line else (
        str(finding.file) if finding.file else None)
    return FindingView(finding.severity, finding.kind, finding.service, finding.message, finding.hint, where,
                       finding.fix)


def parse_fix(fix: str) -> tuple[str, str]:
    """"restart:vscode" -> ("restart", "vscode")."""
    action, _, arg = fix.partition(":")
    return action.strip(), arg.strip()
