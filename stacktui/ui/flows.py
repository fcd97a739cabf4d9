"""The app's change flows: restart plans and layout changes (split, share, undo), each asking first.

Every flow prepares in a thread worker (StackOperations blocks), shows what it will
do, and runs in a PlanModal. While it runs, the services it touches are held
(`LiveStack.hold`): their rows and findings show no alarm the change itself
causes in passing. The model follows the compose file the moment core writes it
(the "write" progress event), not when the dialog closes, and the hold ends with
the plan, after a fresh listing and probe, followed by a check.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from textual.message import Message

from stacktui.core.compose.filestamp import files_stamp
from stacktui.core.errors import PortChoice, PortsUnknown
from stacktui.ui.background import job, release_claim
from stacktui.ui.findings import FindingsPanel
from stacktui.ui.operations import ChangeView, Emit, Outcome, PlanView, ProgressEvent, StackOperations, parse_fix

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from stacktui.core.compose.model import Project

log = logging.getLogger(__name__)

# Progress that means the compose file on disk changed under the running plan.
FILE_EVENTS = ("write", "rollback")


class ChangeEnded(Message):
    """A plan or layout change of the app's own finished; its services are no longer held."""


class ChangeFlows:
    """Mixed into StackApp: the keys that change the stack, and what runs behind them."""

    # -- one change at a time ---------------------------------------------------------------------

    def _claim(self, what: str) -> bool:
        if self.actions is None or self.project is None:
            self.notify("still loading the project", severity="warning")
            return False
        if self.project.read_only:
            self.notify(f"project {self.project.name} was attached from the engine without its compose files: "
                        f"{what} needs them (run stacktui in the project's folder, or pass -f FILE)",
                        severity="warning", timeout=8)
            return False
        if self.busy is not None:
            self.notify(f"busy: {self.busy} is still running", severity="warning")
            return False
        self.busy = what
        return True

    def _selected(self) -> str | None:
        service = self.table.selected_service
        if service is None:
            self.notify("no service selected", severity="warning")
        return service

    def on_findings_panel_fix_requested(self, message: FindingsPanel.FixRequested) -> None:
        fix = message.finding.fix or ""
        action, arg = parse_fix(fix)
        if action == "restart" and arg:
            self._restart([arg])
        elif action in ("separate", "rollback") and arg:
            self._separate(arg)
        elif action == "share" and arg:
            self._share(arg)
        elif action == "undo":
            self.action_undo()
        else:
            self.notify(f"no key for the fix {fix!r}; see the finding's hint", severity="warning")

    # -- holding the services a change touches ------------------------------------------------------

    def _held_run(self, services: list[str], run: Callable[[Emit, "threading.Event"], Outcome]
                  ) -> Callable[[Emit, "threading.Event"], Outcome]:
        """run, as the PlanModal calls it (in a thread), with services held while it runs."""
        live = self.live_stack

        def held(emit: Emit, cancel: "threading.Event") -> Outcome:
            live.hold(services)
            try:
                return run(lambda event: self._progress(event, emit), cancel)
            finally:
                live.release()
                self.post_message(ChangeEnded())

        return held

    def _progress(self, event: ProgressEvent, emit: Emit) -> None:
        emit(event)
        if event.kind in FILE_EVENTS:
            self._switch_model()

    def _switch_model(self) -> None:
        """On the plan's thread: core wrote (or put back) the compose file; the model follows now."""
        actions, project = self.actions, self.project
        if actions is None or project is None:
            return
        stamp = files_stamp(project.files)  # before reading them: a later edit is seen as one
        try:
            new = actions.reload_project()
        except Exception as exc:  # the flow's end reloads again and says what is wrong
            log.debug("the model is not switched mid-change: %s", exc)
            return
        self.live_stack.set_project(new)
        self.post_message(ModelSwitched(new, stamp))

    def on_model_switched(self, message: "ModelSwitched") -> None:
        self._show_project(message.project, message.stamp)

    def on_change_ended(self, message: ChangeEnded) -> None:
        if self.live:
            self._start_check()  # the one the hold kept from running

    def _held_services(self, services: list[str]) -> list[str]:
        """services, and every service joining one of their namespaces (recreated with them)."""
        project = self.project
        held = list(dict.fromkeys(services))
        if project is None:
            return held
        grown = True
        while grown:
            grown = False
            for name, spec in project.services.items():
                if name not in held and set(spec.namespace_targets().values()) & set(held):
                    held.append(name)
                    grown = True
        return held

    # -- restart ----------------------------------------------------------------------------------

    def action_restart(self) -> None:
        service = self._selected()
        if service:
            self._restart([service])

    def action_restart_all(self) -> None:
        if self.project is not None:
            self._restart(list(self.project.services))

    def _restart(self, services: list[str]) -> None:
        if not self._claim("a restart"):
            return
        assert self.actions is not None
        self._prepare_restart(self.actions, services)

    def _prepare_failed(self, error: BaseException) -> bool:
        if isinstance(error, PortsUnknown):
            return True  # the ports are asked for (_ask_ports), which releases the claim
        return release_claim(self, error)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_restart(self, actions: StackOperations, services: list[str]) -> PlanView:
        view = actions.restart_plan(services)
        self.call_from_thread(self._show_plan, view)
        return view

    def _show_plan(self, view: PlanView) -> None:
        from stacktui.ui.modals import PlanModal

        actions = self.actions
        assert actions is not None
        steps = [s.service for s in getattr(view.plan, "steps", None) or []]
        run = self._held_run(self._held_services(steps), lambda emit, cancel: actions.run_plan(view, emit, cancel))
        self.push_screen(PlanModal(view.title, view.steps, run,
                                   intro="Restarts in this order; each step waits for its gates before the next.",
                                   run_label="Restart"),
                         self._plan_closed)

    def _plan_closed(self, outcome: Outcome | None) -> None:
        self.busy = None
        if outcome is None:
            return
        self.notify(outcome.summary, severity="information" if outcome.ok else "error")
        self._start_check(refresh=self.live)

    # -- layout: split, share, undo ---------------------------------------------------------------------

    def action_separate(self) -> None:
        service = self._selected()
        if service:
            self._separate(service)

    def _separate(self, service: str, ports: list[int] | None = None) -> None:
        assert self.project is not None
        spec = self.project.services.get(service)
        if spec is not None and not spec.namespace_targets():
            self.notify(f"{service} already has its own namespaces", severity="information")
            return
        if not self._claim("a layout change"):
            return
        assert self.actions is not None
        self._prepare_separate(self.actions, service, ports)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_separate(self, actions: StackOperations, service: str, ports: list[int] | None) -> ChangeView:
        try:
            view = actions.prepare_separate(service, ports=ports)
        except PortsUnknown as exc:
            self.call_from_thread(self._ask_ports, service, list(exc.choices), str(exc))
            raise
        self.call_from_thread(self._show_change, view)
        return view

    def _ask_ports(self, service: str, choices: list[PortChoice], message: str) -> None:
        from stacktui.ui.modals import PortsModal

        self.busy = None

        def chosen(ports: list[int] | None) -> None:
            if ports is not None:  # [] is "no port moves", said in the dialog; None is cancel
                self._separate(service, ports)

        self.push_screen(PortsModal(service, choices, message), chosen)

    def action_share(self) -> None:
        service = self._selected()
        if service:
            self._share(service)

    def _share(self, service: str) -> None:
        from stacktui.ui.modals import ChoiceModal

        assert self.project is not None and self.actions is not None
        spec = self.project.services.get(service)
        if spec is not None and spec.namespace_target("network_mode"):
            self.notify(f"{service} already shares {spec.namespace_target('network_mode')}'s namespaces",
                        severity="information")
            return
        candidates = self.actions.share_candidates(service)
        if not candidates:
            self.notify(f"no service whose namespaces {service} could join", severity="warning")
            return

        def chosen(owner: str | None) -> None:
            if owner:
                self._prepare_share(service, owner)

        self.push_screen(ChoiceModal(f"Share namespaces with {service}", candidates,
                                     prompt=f"Whose network and IPC namespaces should {service} join?"), chosen)

    def _prepare_share(self, service: str, owner: str) -> None:
        if not self._claim("a layout change"):
            return
        assert self.actions is not None
        self._prepare_change(self.actions.prepare_shared, service, owner)

    def action_undo(self) -> None:
        if not self._claim("a layout change"):
            return
        assert self.actions is not None
        self._prepare_change(self.actions.prepare_undo)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_change(self, prepare: Callable[..., ChangeView], *args: str) -> ChangeView:
        view = prepare(*args)
        self.call_from_thread(self._show_change, view)
        return view

    def _show_change(self, view: ChangeView) -> None:
        from stacktui.ui.modals import DiffModal, PlanModal

        actions = self.actions
        assert actions is not None
        summary = view.reason
        if view.file:
            summary = f"{view.file}: {summary}" if summary else view.file
        if view.touched:
            summary += f"\nservices recreated: {', '.join(view.touched)}"
        run = self._held_run(self._held_services(list(view.touched)),
                             lambda emit, cancel: actions.apply_change(view, emit, cancel))

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.busy = None
                return
            self.push_screen(PlanModal(f"Applying: {view.title}", [], run, confirm=False), self._change_applied)

        compare = view.compare
        latency = (lambda: actions.latency_comparison(*compare)) if compare is not None else None
        self.push_screen(DiffModal(view.title, view.diff, summary=summary, latency=latency), confirmed)

    def _change_applied(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self.notify(outcome.summary, severity="information" if outcome.ok else "error")
        actions = self.actions
        assert actions is not None

        self._reload_project(actions, list(self.project.files) if self.project is not None else [])

    @job("reload failed", undo=release_claim)
    def _reload_project(self, actions: StackOperations, files: list[Path]) -> "Project":
        stamp = files_stamp(files)  # before reading them: a later edit is seen as one
        project = actions.reload_project()
        self.call_from_thread(self._project_reloaded, project, stamp)
        return project


class ModelSwitched(Message):
    """The compose files were read again while a change runs: the model to show from now on."""

    def __init__(self, project: "Project", stamp: tuple[Any, ...]) -> None:
        super().__init__()
        self.project = project
        self.stamp = stamp
