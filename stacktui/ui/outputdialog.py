"""The dialog of a user's output command: its text, scrollable, as plain text; then how it ended.

Each line goes through core's sanitize (escape sequences removed, controls made visible) and is
cut for display, then written to a Log, which draws text and never markup.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from stacktui.core.sanitize import for_display, printable, sanitize
from stacktui.ui.modals import keys_line

if TYPE_CHECKING:
    from stacktui.core.ops.usercommand import Output


class OutputScreen(ModalScreen[None]):
    """An output command's text, scrollable: running first, then its lines and how it ended."""

    BINDINGS = [Binding("escape,q", "close", "close", show=False)]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.command_text = text
        self.lines: list[str] = []  # what the Log shows, as shown (tests read it)
        self.ended: str = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="output-dialog", classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(Text(printable(self.command_text, limit=400), style="dim"), id="output-command")
            yield Log(id="output-log", max_lines=20_000)
            yield Static(Text("running\u2026", style="italic"), id="output-status")
            yield keys_line("esc / q close")

    def on_mount(self) -> None:
        self.query_one(Log).focus()

    def show(self, output: "Output") -> None:
        if not self.is_attached:  # closed before the command ended
            return
        # Each line as text only: escapes removed, controls made visible, long lines cut.
        self.lines = [for_display(sanitize(line)) for line in output.text.splitlines()]
        log = self.query_one(Log)
        if output.cut:
            log.write_line(f"[{output.cut:,} characters before this were left out]")
        log.write_lines(self.lines)
        log.scroll_home(animate=False)
        if output.timed_out:
            self.ended, style = "stopped at its time limit, with what it started", "bold red"
        else:
            self.ended = f"exit code {output.exit_code}"
            style = "green" if output.exit_code == 0 else "bold red"
        self.query_one("#output-status", Static).update(Text(self.ended, style=style))

    def failed(self, error: BaseException) -> None:
        if not self.is_attached:
            return
        self.ended = printable(str(error))
        self.query_one("#output-status", Static).update(Text(self.ended, style="bold red"))

    def action_close(self) -> None:
        self.dismiss(None)
