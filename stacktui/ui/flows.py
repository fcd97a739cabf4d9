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
from typing import TYPE_CHECKING, Callable

from textual.message import Message

from stacktui.core.compose.filestamp import files_stamp
from stacktui.core.errors import PortChoice, PortsUnknown
from stacktui.ui.background import job
from stacktui.ui.findings import FindingsPanel
from stacktui.ui.operations import ChangeView, Emit, Outcome, PlanView, ProgressEvent, StackOperations, parse_fix
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from stacktui.core.compose.model import Project
    from stacktui.ui.filewatch import Stamp

log = logging.getLogger(__name__)

# Progress that means the compose file on disk changed under the running plan.
FILE_EVENTS = ("write", "rollback")


class ChangeEnded(Message):
    """A plan or layout change of the app's own finished; its services are no longer held."""


class ChangeFlows(Part):
    """The keys that change the stack, and what runs behind them."""

    # -- one change at a time ---------------------------------------------------------------------

    def _claim(self, what: str) -> StackOperations | None:
        """The app's one flow, for `what` (its StackOperations), or None when it cannot run now (said)."""
        app = self.app
        if app.actions is None or app.project is None:
            app.notify("still loading the project", severity="warning")
            return None
        if app.project.read_only:
            app.notify(f"project {app.project.name} was attached from the engine without its compose files: "
                       f"{what} needs them (run stacktui in the project's folder, or pass -f FILE)",
                       severity="warning", timeout=8)
            return None
        if app.busy is not None:
            app.notify(f"busy: {app.busy} is still running", severity="warning")
            return None
        app.busy = what
        return app.actions

    def _release_claim(self, error: BaseException) -> bool:
        """The undo of a job that holds the app's one flow."""
        self.app.busy = None
        return False

    def _selected(self) -> str | None:
        service = self.app.table.selected_service
        if service is None:
            self.app.notify("no service selected", severity="warning")
        return service

    def fix_requested(self, message: FindingsPanel.FixRequested) -> None:
        fix = message.finding.fix or ""
        action, arg = parse_fix(fix)
        if action == "restart" and arg:
            self._restart([arg])
        elif action in ("separate", "rollback") and arg:
            self._separate(arg)
        elif action == "share" and arg:
            self._share(arg)
        elif action == "undo":
            self.undo()
        else:
            self.app.notify(f"no key for the fix {fix!r}; see the finding's hint", severity="warning")

    # -- holding the services a change touches ------------------------------------------------------

    def _held_run(self, services: list[str], run: Callable[[Emit, "threading.Event"], Outcome]
                  ) -> Callable[[Emit, "threading.Event"], Outcome]:
        """run, as the PlanModal calls it (in a thread), with services held while it runs."""
        live = self.app.live_stack

        def held(emit: Emit, cancel: "threading.Event") -> Outcome:
            live.hold(services)
            try:
                return run(lambda event: self._progress(event, emit), cancel)
            finally:
                live.release()
                self.post(ChangeEnded())

        return held

    def _progress(self, event: ProgressEvent, emit: Emit) -> None:
        emit(event)
        if event.kind in FILE_EVENTS:
            self._switch_model()

    def _switch_model(self) -> None:
        """On the plan's thread: core wrote (or put back) the compose file; the model follows now."""
        app = self.app
        actions, project = app.actions, app.project
        if actions is None or project is None:
            return
        stamp = files_stamp(project.files)  # before reading them: a later edit is seen as one
        try:
            new = actions.reload_project()
        except Exception as exc:  # the flow's end reloads again and says what is wrong
            log.debug("the model is not switched mid-change: %s", exc)
            return
        app.live_stack.set_project(new)
        self.post(ModelSwitched(new, stamp))

    def model_switched(self, message: "ModelSwitched") -> None:
        self.app.files.show_project(message.project, message.stamp)

    def change_ended(self, message: ChangeEnded) -> None:
        if self.app.live:
            self.app.feed.start_check()  # the one the hold kept from running

    def _held_services(self, services: list[str]) -> list[str]:
        """services, and every service joining one of their namespaces (recreated with them)."""
        project = self.app.project
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

    def restart(self) -> None:
        service = self._selected()
        if service:
            self._restart([service])

    def restart_all(self) -> None:
        if self.app.project is not None:
            self._restart(list(self.app.project.services))

    def _restart(self, services: list[str]) -> None:
        actions = self._claim("a restart")
        if actions is not None:
            self._prepare_restart(actions, services)

    def _prepare_failed(self, error: BaseException) -> bool:
        if isinstance(error, PortsUnknown):
            return True  # the ports are asked for (_ask_ports), which releases the claim
        return self._release_claim(error)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_restart(self, actions: StackOperations, services: list[str]) -> PlanView:
        view = actions.restart_plan(services)
        self.app.call_from_thread(self._show_plan, actions, view)
        return view

    def _show_plan(self, actions: StackOperations, view: PlanView) -> None:
        from stacktui.ui.modals import PlanModal

        steps = [s.service for s in view.plan.steps]
        run = self._held_run(self._held_services(steps), lambda emit, cancel: actions.run_plan(view, emit, cancel))
        self.app.push_screen(PlanModal(view.title, view.steps, run,
                                       intro="Restarts in this order; each step waits for its gates before the next.",
                                       run_label="Restart"),
                             self._plan_closed)

    def _plan_closed(self, outcome: Outcome | None) -> None:
        app = self.app
        app.busy = None
        if outcome is None:
            return
        app.notify(outcome.summary, severity="information" if outcome.ok else "error")
        app.feed.start_check(refresh=app.live)

    # -- layout: split, share, undo ---------------------------------------------------------------------

    def separate(self) -> None:
        service = self._selected()
        if service:
            self._separate(service)

    def _separate(self, service: str, ports: list[int] | None = None) -> None:
        project = self.app.project
        spec = project.services.get(service) if project is not None else None
        if spec is not None and not spec.namespace_targets():
            self.app.notify(f"{service} already has its own namespaces", severity="information")
            return
        actions = self._claim("a layout change")
        if actions is not None:
            self._prepare_separate(actions, service, ports)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_separate(self, actions: StackOperations, service: str, ports: list[int] | None) -> ChangeView:
        try:
            view = actions.prepare_separate(service, ports=ports)
        except PortsUnknown as exc:
            self.app.call_from_thread(self._ask_ports, service, list(exc.choices), str(exc))
            raise
        self.app.call_from_thread(self._show_change, actions, view)
        return view

    def _ask_ports(self, service: str, choices: list[PortChoice], message: str) -> None:
        from stacktui.ui.modals import PortsModal

        self.app.busy = None

        def chosen(ports: list[int] | None) -> None:
            if ports is not None:  # [] is "no port moves", said in the dialog; None is cancel
                self._separate(service, ports)

        self.app.push_screen(PortsModal(service, choices, message), chosen)

    def share(self) -> None:
        service = self._selected()
        if service:
            self._share(service)

    def _share(self, service: str) -> None:
        from stacktui.ui.modals import ChoiceModal

        app = self.app
        project, actions = app.project, app.actions
        if project is None or actions is None:
            app.notify("still loading the project", severity="warning")
            return
        spec = project.services.get(service)
        if spec is not None and spec.namespace_target("network_mode"):
            app.notify(f"{service} already shares {spec.namespace_target('network_mode')}'s namespaces",
                       severity="information")
            return
        candidates = actions.share_candidates(service)
        if not candidates:
            app.notify(f"no service whose namespaces {service} could join", severity="warning")
            return

        def chosen(owner: str | None) -> None:
            if owner:
                self._prepare_share(service, owner)

        app.push_screen(ChoiceModal(f"Share namespaces with {service}", candidates,
                                    prompt=f"Whose network and IPC namespaces should {service} join?"), chosen)

    def _prepare_share(self, service: str, owner: str) -> None:
        actions = self._claim("a layout change")
        if actions is not None:
            self._prepare_change(actions, actions.prepare_shared, service, owner)

    def undo(self) -> None:
        actions = self._claim("a layout change")
        if actions is not None:
            self._prepare_change(actions, actions.prepare_undo)

    @job("could not prepare", undo=_prepare_failed)
    def _prepare_change(self, actions: StackOperations, prepare: Callable[..., ChangeView], *args: str) -> ChangeView:
        view = prepare(*args)
        self.app.call_from_thread(self._show_change, actions, view)
        return view

    def _show_change(self, actions: StackOperations, view: ChangeView) -> None:
        from stacktui.ui.modals import DiffModal, PlanModal

        app = self.app
        summary = view.reason
        if view.file:
            summary = f"{view.file}: {summary}" if summary else view.file
        if view.touched:
            summary += f"\nservices recreated: {', '.join(view.touched)}"
        run = self._held_run(self._held_services(list(view.touched)),
                             lambda emit, cancel: actions.apply_change(view, emit, cancel))

        def applied(outcome: Outcome | None) -> None:
            self._change_applied(actions, outcome)

        def confirmed(ok: bool | None) -> None:
            if not ok:
                app.busy = None
                return
            app.push_screen(PlanModal(f"Applying: {view.title}", [], run, confirm=False), applied)

        compare = view.compare
        latency = (lambda: actions.latency_comparison(*compare)) if compare is not None else None
        app.push_screen(DiffModal(view.title, view.diff, summary=summary, latency=latency), confirmed)

    def _change_applied(self, actions: StackOperations, outcome: Outcome | None) -> None:
        app = self.app
        if outcome is not None:
            app.notify(outcome.summary, severity="information" if outcome.ok else "error")
        self._reload_project(actions, list(app.project.files) if app.project is not None else [])

    @job("reload failed", undo=_release_claim)
    def _reload_project(self, actions: StackOperations, files: list[Path]) -> "Project":
        stamp = files_stamp(files)  # before reading them: a later edit is seen as one
        project = actions.reload_project()
        self.app.call_from_thread(self.app.files.project_reloaded, project, stamp)
        return project


class ModelSwitched(Message):
    """The compose files were read again while a change runs: the model to show from now on."""

    def __init__(self, project: "Project", stamp: "Stamp") -> None:
        super().__init__()
        self.project = project
        self.stamp = stamp
