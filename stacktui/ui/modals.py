"""Modal screens: a plan with live progress, a diff to confirm, a choice, the keys.

They are generic: PlanModal runs any `run(emit, cancel) -> Outcome` in a thread
worker and shows the ProgressEvents it emits; DiffModal shows any unified diff
and answers True (apply) or False.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from stacktui.core.errors import PortChoice
from stacktui.core.sanitize import sanitize
from stacktui.ui.latencyview import LatencyLines, Measure
from stacktui.ui.operations import Emit, Outcome, ProgressEvent, StepView

PENDING, RUNNING, WAITING, DONE, FAILED, SKIPPED = "pending", "running", "waiting", "done", "failed", "skipped"
STEP_LOOK = {
    PENDING: ("\u00b7", "dim"),  # ·
    RUNNING: ("\u25b6", "bold cyan"),  # ▶
    WAITING: ("\u29d7", "yellow"),  # ⧗
    DONE: ("\u2714", "green"),  # ✔
    FAILED: ("\u2718", "bold red"),  # ✘
    SKIPPED: ("\u2013", "dim"),  # –
}
EVENT_STATE = {"step_started": RUNNING, "gate_waiting": WAITING, "gate_passed": RUNNING,
               "step_done": DONE, "step_failed": FAILED}
LOG_LINES = 8


def keys_line(text: str, id: str | None = None) -> Static:
    """The keys a dialog answers, said on screen (`y apply · n/esc cancel`): nothing is guessed."""
    return Static(Text(text, style="dim"), classes="dialog-keys", id=id)


class PlanModal(ModalScreen[Outcome | None]):
    """Shows a plan, asks to run it, then shows each step's progress live and the outcome."""

    BINDINGS = [Binding("escape,n", "cancel", "cancel / close", show=False),
                Binding("y", "run", "run", show=False)]
    KEYS = {"confirm": "y / enter run · n / esc cancel", "running": "esc cancels after the current step",
            "done": "enter / esc close"}

    class Progress(Message):
        def __init__(self, event: ProgressEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(self, title: str, steps: list[StepView], run: Callable[[Emit, threading.Event], Outcome], *,
                 confirm: bool = True, intro: str = "", run_label: str = "Run") -> None:
        super().__init__()
        self.plan_title = title
        self.steps = list(steps)
        self.run = run
        self.confirm = confirm
        self.intro = intro
        self.run_label = run_label
        self.state = "confirm"  # confirm -> running -> done
        self.step_state = [PENDING] * len(self.steps)
        self.step_note = [""] * len(self.steps)
        self.events: list[ProgressEvent] = []
        self.outcome: Outcome | None = None
        self.plan_worker: Worker[Outcome] | None = None  # the plan running, once started
        self.cancel_event = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-dialog", classes="dialog"):
            yield Static(Text(self.plan_title, style="bold"), id="plan-title", classes="dialog-title")
            if self.intro:
                yield Static(Text(self.intro), id="plan-intro")
            yield Static(self._steps_text(), id="plan-steps")
            yield Static(Text(""), id="plan-log")
            yield Static(Text(""), id="plan-result")
            with Horizontal(classes="dialog-buttons"):
                yield keys_line(self.KEYS["confirm"], id="plan-keys")
                yield Button(self.run_label, id="plan-run", variant="primary", compact=True)
                yield Button("Cancel", id="plan-cancel", compact=True)

    def on_mount(self) -> None:
        if self.confirm:
            self.query_one("#plan-run", Button).focus()
        else:
            self.start()

    # -- drawing --------------------------------------------------------------------------------

    def _steps_text(self) -> Text:
        text = Text()
        if not self.steps:
            text.append("(no steps)" if self.state == "confirm" else "", style="dim")
        for i, step in enumerate(self.steps):
            glyph, style = STEP_LOOK[self.step_state[i]]
            if i:
                text.append("\n")
            text.append(f"{glyph} ", style=style)
            text.append(f"{i + 1}. {step.label}", style="bold" if self.step_state[i] in (RUNNING, WAITING) else "")
            if step.detail:
                text.append(f"  {step.detail}", style="dim")
            if self.step_note[i]:
                text.append(f"  {self.step_note[i]}", style=style)
        return text

    def _log_text(self) -> Text:
        text = Text()
        for ev in self.events[-LOG_LINES:]:
            if len(text):
                text.append("\n")
            who = f"{ev.service}: " if ev.service else ""
            text.append(f"{ev.kind.replace('_', ' ')} ", style="dim")
            text.append(who + sanitize(ev.message))
        return text

    def _result_text(self) -> Text:
        if self.state == "running":
            return Text("cancelling after the current step\u2026" if self.cancel_event.is_set() else "running\u2026",
                        style="italic")
        if self.outcome is None:
            return Text("")
        text = Text(("\u2714 " if self.outcome.ok else "\u2718 ") + self.outcome.summary,
                    style="bold green" if self.outcome.ok else "bold red")
        for line in self.outcome.details:
            text.append("\n" + sanitize(line), style="" if self.outcome.ok else "red")
        return text

    def _redraw(self) -> None:
        self.query_one("#plan-steps", Static).update(self._steps_text())
        self.query_one("#plan-log", Static).update(self._log_text())
        self.query_one("#plan-result", Static).update(self._result_text())
        self.query_one("#plan-keys", Static).update(Text(self.KEYS[self.state], style="dim"))

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.state != "confirm":
            return
        self.state = "running"
        run_button = self.query_one("#plan-run", Button)
        run_button.display = False
        self.query_one("#plan-cancel", Button).label = "Cancel after this step"
        self.query_one("#plan-cancel", Button).focus()
        self._redraw()
        self.plan_worker = self._work()

    @work(thread=True, exit_on_error=False, name="plan")
    def _work(self) -> Outcome:
        def emit(event: ProgressEvent) -> None:
            self.post_message(self.Progress(event))  # thread-safe; one message per event, never per line

        return self.run(emit, self.cancel_event)

    def on_plan_modal_progress(self, message: "PlanModal.Progress") -> None:
        ev = message.event
        self.events.append(ev)
        if ev.step is not None and 0 <= ev.step < len(self.steps):
            state = EVENT_STATE.get(ev.kind)
            if state is not None:
                self.step_state[ev.step] = state
            if ev.message:
                self.step_note[ev.step] = sanitize(ev.message)
        self._redraw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.plan_worker:
            return
        if event.state == WorkerState.SUCCESS:
            self._finish(event.worker.result)
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self._finish(Outcome(False, str(err) or type(err).__name__))
        elif event.state == WorkerState.CANCELLED:
            self._finish(Outcome(False, "cancelled"))

    def _finish(self, outcome: Outcome | None) -> None:
        self.outcome = outcome if isinstance(outcome, Outcome) else Outcome(True, "done")
        self.state = "done"
        for i, st in enumerate(self.step_state):
            if st == PENDING and not self.outcome.ok:
                self.step_state[i] = SKIPPED
        cancel = self.query_one("#plan-cancel", Button)
        cancel.label = "Close"
        cancel.focus()
        self._redraw()

    @on(Button.Pressed, "#plan-run")
    def _on_run(self) -> None:
        self.start()

    def action_run(self) -> None:
        self.start()  # only while asking; running or done, `y` does nothing

    @on(Button.Pressed, "#plan-cancel")
    def _on_cancel(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.state == "confirm":
            self.dismiss(None)
        elif self.state == "running":
            self.cancel_event.set()
            self._redraw()
        else:
            self.dismiss(self.outcome)


def diff_text(diff: str) -> Text:
    """A unified diff as Text: additions green, removals red, hunk headers cyan."""
    text = Text()
    for i, raw in enumerate(diff.splitlines()):
        line = sanitize(raw)
        if i:
            text.append("\n")
        if line.startswith(("+++", "---")):
            text.append(line, style="bold")
        elif line.startswith("@@"):
            text.append(line, style="cyan")
        elif line.startswith("+"):
            text.append(line, style="green")
        elif line.startswith("-"):
            text.append(line, style="red")
        else:
            text.append(line)
    return text


class DiffModal(ModalScreen[bool]):
    """A change to confirm: what it does, the diff, Apply or Cancel (focused: a stray enter writes nothing)."""

    BINDINGS = [Binding("escape,n", "cancel", "cancel", show=False), Binding("y", "apply", "apply", show=False)]

    def __init__(self, title: str, diff: str, *, summary: str = "", apply_label: str = "Apply",
                 latency: "Measure | None" = None) -> None:
        super().__init__()
        self.change_title = title
        self.diff = diff
        self.summary = summary
        self.apply_label = apply_label
        self.latency = latency  # what each layout costs here, measured as the dialog opens

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-dialog", classes="dialog"):
            yield Static(Text(self.change_title, style="bold"), classes="dialog-title")
            if self.summary:
                yield Static(Text("\n".join(sanitize(line) for line in self.summary.splitlines())),
                             id="diff-summary")
            if self.latency is not None:
                yield LatencyLines(self.latency, now=True, id="diff-latency")
            with VerticalScroll(id="diff-scroll"):
                yield Static(diff_text(self.diff) if self.diff.strip() else Text("(no changes)", style="dim"),
                             id="diff-body")
            with Horizontal(classes="dialog-buttons"):
                yield keys_line(f"y {self.apply_label.lower()} · n/esc cancel · enter: focused button")
                yield Button(self.apply_label, id="diff-apply", variant="warning", compact=True)
                yield Button("Cancel", id="diff-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#diff-cancel", Button).focus()  # nothing is written by a stray enter

    @on(Button.Pressed, "#diff-apply")
    def _apply(self) -> None:
        self.dismiss(True)

    def action_apply(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#diff-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ChoiceModal(ModalScreen[str | None]):
    """Pick one of a few options (enter), or none (escape)."""

    BINDINGS = [Binding("escape", "cancel", "cancel", show=False)]

    def __init__(self, title: str, options: Iterable[str], prompt: str = "") -> None:
        super().__init__()
        self.choice_title = title
        self.options = list(options)
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-dialog", classes="dialog"):
            yield Static(Text(self.choice_title, style="bold"), classes="dialog-title")
            if self.prompt:
                yield Static(Text(self.prompt, style="dim"))
            yield OptionList(*[Text(o) for o in self.options], id="choice-list")
            yield keys_line("\u2191\u2193 choose · enter pick · esc cancel")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class PortsModal(ModalScreen[list[int] | None]):
    """Which ports move with this service? Asked when the layout change cannot tell on its own: every port
    the owner publishes, with who listens on it, the known ones ticked; others can be typed."""

    BINDINGS = [Binding("escape", "cancel", "cancel", show=False)]

    def __init__(self, service: str, choices: list[PortChoice], message: str = "") -> None:
        super().__init__()
        self.service = service
        self.choices = list(choices)
        self.candidates = [c.port for c in self.choices]
        self.message = message

    def compose(self) -> ComposeResult:
        width = max((len(str(c.port)) for c in self.choices), default=1)
        with Vertical(id="ports-dialog", classes="dialog"):
            yield Static(Text(f"Which ports move with {self.service}?", style="bold"), classes="dialog-title")
            if self.message:
                yield Static(Text(sanitize(self.message), style="dim"))
            yield SelectionList[int](*[Selection(Text.assemble((str(c.port).ljust(width), "bold"), "  ",
                                                               (sanitize(c.who), "" if c.ticked else "dim")),
                                                 c.port, c.ticked) for c in self.choices], id="ports-list")
            yield Input(placeholder="other ports, as 9003,9004 (or none: no port moves)", id="ports-other")
            yield Static("", id="ports-said")
            with Horizontal(classes="dialog-buttons"):
                yield keys_line("space ticks a port · tab to the buttons · esc cancel")
                yield Button("Use these", id="ports-ok", variant="primary", compact=True)
                yield Button("Cancel", id="ports-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def _say(self, text: str) -> None:
        self.query_one("#ports-said", Static).update(Text(text, style="bold yellow"))

    @on(Input.Submitted, "#ports-other")
    @on(Button.Pressed, "#ports-ok")
    def _ok(self) -> None:
        typed = self.query_one("#ports-other", Input).value.strip()
        chosen = list(self.query_one(SelectionList).selected)
        if typed.lower() == "none":
            if chosen:
                self._say("none and ticked ports: untick them, or clear the field")
                return
            self.dismiss([])  # said outright: no port moves
            return
        words = [w for w in typed.replace(",", " ").split() if w]
        bad = [w for w in words if not (w.isdigit() and 1 <= int(w) <= 65535)]
        if bad:
            self._say(f"not a port (1-65535): {sanitize(', '.join(bad))}")
            self.query_one("#ports-other", Input).focus()
            return
        chosen += [int(w) for w in words if int(w) not in chosen]
        if not chosen:
            self._say(f"no port chosen: tick or type the ports {self.service} listens on, "
                      "or type none if no port moves with it")
            self.query_one(SelectionList).focus()
            return
        self.dismiss(sorted(chosen))

    @on(Button.Pressed, "#ports-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key, as currently bound (users may remap them by binding id)."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "close", show=False)]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        # One row per key, its line wrapped in its own column: a long line is read whole at any width.
        width = max((len(key) for key, _ in self.keys), default=3) + 2
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static(Text("stacktui keys", style="bold"), classes="dialog-title")
            with VerticalScroll(id="help-table"):
                for key, what in self.keys:
                    with Horizontal(classes="help-row"):
                        key_cell = Static(Text(key, style="bold"), classes="help-key")
                        key_cell.styles.width = width
                        yield key_cell
                        yield Static(Text(what), classes="help-what")
            yield Static(Text("esc closes this", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
