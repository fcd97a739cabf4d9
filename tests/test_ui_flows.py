"""Key flows through the real UI: restart plan, layout change with diff, undo, fixes, help and keymaps.

Here core.ops is replaced by recording doubles that take the same arguments and
answer with core's own types (RestartPlan, PlanEvent, PlanResult, LayoutChange,
ApplyEvent, ApplyResult, PortsUnknown), so these tests prove what the UI does
with them: ask first, show progress live, apply only on confirm, report the
outcome. tests/test_ui_acceptance.py runs the same keys on the real engine.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.worker import WorkerFailed

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.errors import EngineUnavailable, StackError
from stacktui.core.live.watcher import Snapshot
from stacktui.core.ops import layout as layout_ops
from stacktui.core.ops import restart as restart_ops
from stacktui.core.ops.layout import ApplyEvent, ApplyResult, LayoutChange, PortsUnknown
from stacktui.core.ops.restart import PlanEvent, PlanResult, RestartPlan, Step
from stacktui.core.restart.plan import StepOutcome
from stacktui.ui.app import StackApp
from stacktui.ui.modals import ChoiceModal, DiffModal, HelpScreen, PlanModal, PortsModal
from stacktui.ui.operations import FindingView, StackOperations
from tests.test_ui_snapshots import NOW, demo_project, rows
from tests.waiting import click_when_drawn, until_app

TARGET = ComposeTarget(files=(Path("/srv/demo/compose.yaml"),), project_name="demo")
FILE = Path("/srv/demo/compose.yaml")


class Core:
    """Records every call; restart steps wait for `release` so a test can look mid-plan."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.release = threading.Event()
        self.release.set()
        self.cancelled = False

    def plan_restart(self, project, engine, services=(), *, everything=False, containers=None):
        self.calls.append(("build_plan", tuple(services)))
        order = [s for s in project.services if s in services or (s == "mcp-server" and "vscode" in services)]
        return RestartPlan(project.name, list(services), [Step(s, "restart", [f"{s} healthy"]) for s in order])

    def run_restart(self, plan, project, engine, target, *, on_event=None, cancel=None, abort=None, timeout=60.0,
                    lock_wait=0.0, containers=None):
        self.calls.append(("execute", [s.service for s in plan.steps], target))
        ran: list[StepOutcome] = []
        for number, step in enumerate(plan.steps, start=1):  # restart numbers its steps from 1
            if cancel is not None and cancel.is_set():
                self.cancelled = True
                return PlanResult(False, ran, reason=f"cancelled before step {number} ({step.service})",
                                  not_run=plan.steps[len(ran):], cancelled=True)
            on_event(PlanEvent("step_started", number, step.service, "restarting"))
            on_event(PlanEvent("gate_waiting", number, step.service, "healthcheck: starting"))
            self.release.wait(10)
            on_event(PlanEvent("gate_passed", number, step.service, "healthy"))
            on_event(PlanEvent("step_done", number, step.service, "done"))
            ran.append(StepOutcome(number, step.service, step.action, True, [], list(step.waits_for), 0.0))
        on_event(PlanEvent("plan_done", 0, "", "all steps done"))
        return PlanResult(True, ran)

    def prepare_separate(self, project, service, ports=None, *, engine=None):
        self.calls.append(("prepare_separate", service, ports))
        if ports is None:
            raise PortsUnknown(f"cannot tell which of vscode's ports are {service}'s", service=service,
                               candidates=[8080, 9001, 9002])
        return LayoutChange(FILE, "old", "new",
                            "--- compose.yaml\n+++ compose.yaml\n-    network_mode: \"service:vscode\"\n+    ports:\n",
                            f"{service} gets its own namespaces", [service, "backend"], kind="separate")

    def prepare_shared(self, project, service, owner):
        self.calls.append(("prepare_shared", service, owner))
        return LayoutChange(FILE, "a", "b", f"+    network_mode: \"service:{owner}\"\n",
                            f"{service} joins {owner}", [service], kind="shared")

    def prepare_undo(self, project):
        self.calls.append(("prepare_undo",))
        return LayoutChange(FILE, "b", "a", "-    ports:\n+    network_mode: x\n",
                            "undo: mcp-server shares vscode again", ["mcp-server"], kind="undo")

    def ask_compose(self, change, target):
        self.calls.append(("ask_compose", change.reason))

    def apply_change(self, change, project, engine, target, on_event=None, up=True, timeout=60.0):
        self.calls.append(("apply_change", change.reason))
        on_event(ApplyEvent("write", "wrote compose.yaml (history #1)"))
        on_event(ApplyEvent("up", "recreated mcp-server, backend", "mcp-server"))
        return ApplyResult(True, True, services=["mcp-server", "backend"])


@pytest.fixture
def core(monkeypatch) -> Core:
    """A Core standing in for core.ops wherever the UI reaches it."""
    fake = Core()
    for module, names in ((restart_ops, ("plan_restart", "run_restart")),
                          (layout_ops, ("prepare_separate", "prepare_shared", "prepare_undo", "ask_compose", "apply_change"))):
        for name in names:
            monkeypatch.setattr(module, name, getattr(fake, name))
    return fake


def make_app(core: Core, reloads: list | None = None) -> StackApp:
    project = demo_project()

    def reload():
        if reloads is not None:
            reloads.append(1)
        return project

    actions = StackOperations(project, object(), TARGET, reload=reload)
    return StackApp(project, None, target=TARGET, actions=actions, live=False, clock=lambda: NOW)


async def settle(pilot, app: StackApp) -> None:
    """Every worker has ended and the app has handled it. A worker that raised (a flow's PortsUnknown
    asks the user for ports) is the app's one failure handler's to act on; the test checks what it did.
    wait_for_complete() would raise it here instead whenever the worker is still listed."""
    for _ in range(2):
        ended = await asyncio.gather(*(worker.wait() for worker in list(app.workers)), return_exceptions=True)
        for end in ended:
            # An error stacktui raises on purpose (StackError: a message with a hint) is the user's to
            # read; anything else is a bug, and fails the test here.
            if isinstance(end, WorkerFailed) and not isinstance(end.error, StackError):
                raise end
        await pilot.pause()


async def select(pilot, app: StackApp, service: str) -> None:
    app.show_snapshot(Snapshot(rows(), []))
    await pilot.pause()
    app.table.move_cursor(row=list(app.project.services).index(service))
    await pilot.pause()


async def test_r_shows_the_plan_asks_then_shows_each_step_live(core):
    core.release.clear()
    app = make_app(core)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("r")
        await settle(pilot, app)
        modal = app.screen
        assert isinstance(modal, PlanModal)
        assert [s.label for s in modal.steps] == ["restart vscode", "restart mcp-server"]
        assert [c[0] for c in core.calls] == ["build_plan"]  # nothing runs before the user says so
        await pilot.press("enter")  # the Restart button has the focus
        await pilot.pause(0.2)
        assert modal.state == "running"
        assert modal.step_state[0] == "waiting"  # live: the gate is being waited on right now
        core.release.set()
        await settle(pilot, app)
        assert modal.step_state == ["done", "done"]
        assert modal.outcome is not None and modal.outcome.ok
        assert core.calls[1] == ("execute", ["vscode", "mcp-server"], TARGET)
        await pilot.press("enter")  # Close
        await pilot.pause()
        assert not isinstance(app.screen, PlanModal)
        assert app.busy is None


async def test_escape_during_a_plan_cancels_after_the_current_step(core):
    core.release.clear()
    app = make_app(core)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("R")
        await settle(pilot, app)
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press("escape")
        assert app.screen.cancel_event.is_set()
        core.release.set()
        await settle(pilot, app)
        modal = app.screen
        assert core.cancelled and not modal.outcome.ok
        assert modal.step_state[0] == "done" and modal.step_state[-1] == "skipped"
        assert "not run" in " ".join(modal.outcome.details)


async def test_b_asks_for_ports_shows_the_diff_and_applies_only_on_confirm(core):
    reloads: list = []
    app = make_app(core, reloads)
    async with app.run_test(size=(100, 34)) as pilot:
        await select(pilot, app, "mcp-server")
        await pilot.press("b")
        await settle(pilot, app)
        assert isinstance(app.screen, PortsModal)  # the core could not tell: the user picks
        assert app.screen.candidates == [8080, 9001, 9002]
        await pilot.press("down", "space", "down", "space")  # 9001 and 9002
        await click_when_drawn(pilot, "#ports-ok")
        await settle(pilot, app)
        assert ("prepare_separate", "mcp-server", [9001, 9002]) in core.calls
        diff = app.screen
        assert isinstance(diff, DiffModal)
        assert ("ask_compose", "mcp-server gets its own namespaces") in core.calls  # as the apply will
        assert "network_mode" in diff.diff
        await pilot.press("escape")  # first, say no: nothing is applied
        await settle(pilot, app)
        assert not any(c[0] == "apply_change" for c in core.calls)
        assert app.busy is None

        await pilot.press("b")
        await settle(pilot, app)
        await pilot.press("down", "space", "down", "space")
        await click_when_drawn(pilot, "#ports-ok")
        await settle(pilot, app)
        await click_when_drawn(pilot, "#diff-apply")
        await settle(pilot, app)
        progress = app.screen
        assert isinstance(progress, PlanModal) and progress.outcome is not None and progress.outcome.ok
        assert [e.kind for e in progress.events] == ["write", "up"]
        assert ("apply_change", "mcp-server gets its own namespaces") in core.calls
        await pilot.press("enter")
        await settle(pilot, app)
        assert reloads  # the project is read again from the changed files
        assert app.busy is None


async def test_the_ports_question_shows_who_listens_takes_typed_ports_and_says_what_it_refuses(core, monkeypatch):
    from textual.widgets import SelectionList, Static

    from stacktui.core.errors import PortChoice

    choices = [PortChoice(8080, "vscode (listening now)", False), PortChoice(9001, "mcp-server (listening now)", True),
               PortChoice(9002, "nobody known", False)]
    asked = []

    def prepare_separate(project, service, ports=None, *, engine=None):
        asked.append(ports)
        if ports is None:
            raise PortsUnknown("cannot tell which ports mcp-server listens on", service=service, candidates=[9002],
                               choices=choices)
        return core.prepare_separate(project, service, ports, engine=engine)

    monkeypatch.setattr(layout_ops, "prepare_separate", prepare_separate)
    app = make_app(core)
    async with app.run_test(size=(100, 34)) as pilot:
        await select(pilot, app, "mcp-server")
        await pilot.press("b")
        await settle(pilot, app)
        ask = app.screen
        assert isinstance(ask, PortsModal)
        lines = [str(o.prompt) for o in ask.query_one(SelectionList).options]
        assert lines == ["8080  vscode (listening now)", "9001  mcp-server (listening now)", "9002  nobody known"]
        assert ask.query_one(SelectionList).selected == [9001]  # what is known, ticked

        ask.query_one("#ports-other").focus()
        await pilot.press(*"90o1", "enter")
        await pilot.pause()
        assert app.screen is ask and "not a port (1-65535): 90o1" in str(ask.query_one("#ports-said", Static).render())
        await pilot.press(*["backspace"] * 4, *"9002", "enter")
        await settle(pilot, app)
        assert asked[-1] == [9001, 9002] and isinstance(app.screen, DiffModal)
        await pilot.press("escape")
        await settle(pilot, app)

        await pilot.press("b")
        await settle(pilot, app)
        await pilot.press("down", "space", "tab", *"none", "enter")  # untick 9001; no port moves, said outright
        await settle(pilot, app)
        assert asked[-1] == [] and isinstance(app.screen, DiffModal)


async def test_s_and_u_go_through_the_same_diff_and_confirm(core):
    app = make_app(core)
    app.project.services["mcp-server"].network_mode = None  # as after a rollback
    app.project.services["mcp-server"].ipc = None
    async with app.run_test(size=(100, 34)) as pilot:
        await select(pilot, app, "mcp-server")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        assert "vscode" in app.screen.options
        await pilot.press(*["down"] * app.screen.options.index("vscode"), "enter")
        await settle(pilot, app)
        assert ("prepare_shared", "mcp-server", "vscode") in core.calls
        assert isinstance(app.screen, DiffModal)
        await click_when_drawn(pilot, "#diff-apply")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("u")
        await settle(pilot, app)
        assert isinstance(app.screen, DiffModal) and "undo" in str(app.screen.summary)
        await pilot.press("escape")
        await settle(pilot, app)
        assert [c for c in core.calls if c[0] == "apply_change"] == [("apply_change", "mcp-server joins vscode")]


async def test_a_findings_one_key_fix_opens_the_restart_plan(core):
    app = make_app(core)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "backend")
        app.show_findings([FindingView("error", "stale", "mcp-server", "stale namespace", fix="restart:mcp-server")])
        await pilot.pause()
        app.query_one("#findings-list").focus()
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PlanModal)
        assert core.calls[0] == ("build_plan", ("mcp-server",))


async def test_a_failing_core_operation_is_a_notification_not_a_crash(core, monkeypatch):
    def engine_gone(*_args, **_kwargs):
        raise EngineUnavailable("the Docker engine at /run/docker.sock does not answer")

    monkeypatch.setattr(restart_ops, "plan_restart", engine_gone)
    app = make_app(core)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("r")
        await settle(pilot, app)

        def said() -> int:  # the failure reaches the screen from the worker's thread: waited for, not assumed
            return len([n for n in app._notifications if "the Docker engine at /run/docker.sock does not answer"
                        in n.message])

        await until_app(pilot, lambda: said() == 1, 10, "the failure notified")
        assert not isinstance(app.screen, PlanModal)
        await until_app(pilot, lambda: app.busy is None, 10, "nothing left claimed")
        await pilot.press("r")  # and the next key is taken: nothing was left claimed
        await settle(pilot, app)
        await until_app(pilot, lambda: said() == 2, 10, "the second failure notified")


async def test_keys_can_be_remapped_by_binding_id_and_help_shows_them(core):
    app = make_app(core)
    app.set_keymap({"restart": "x"})
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "vscode")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict((what, key) for key, what in app.screen.keys)
        assert keys[next(w for w in keys if w.startswith("restart the selected"))] == "x"
        await pilot.press("escape")
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, PlanModal)


async def test_every_help_line_is_shown_whole_at_80_columns(core):
    from textual.widgets import Static

    from stacktui.core.settings import KEY_ACTIONS

    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one("#help-dialog")
        shown = {str(w.render()): w for w in app.screen.query(Static)}
        heal = next(a.description for a in KEY_ACTIONS if a.id == "heal")
        assert heal in shown, "the H line is not one line of the help"
        line = shown[heal]
        assert line.region.right <= dialog.content_region.right  # within the dialog, wrapped if need be
        assert line.size.height >= 2 and line.virtual_size.width <= line.size.width


async def test_a_check_that_ends_after_the_app_closed_changes_nothing(core):
    """A check runs in a thread: its findings can arrive once the screen is gone (seen in a bench
    child as NoMatches on the findings panel). They are kept and not shown, with no error."""
    app = make_app(core)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, "backend")
    late = [FindingView("error", "stale", "mcp-server", "stale namespace", fix="restart:mcp-server")]
    app.show_findings(late)
    assert app.findings == late
