"""The findings panel: what `check` found, each with its one-key fix where there is one."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import MountError
from textual.widgets import OptionList, Static

from stacktui.core.sanitize import sanitize
from stacktui.ui.operations import FindingView, parse_fix

SEVERITY_LOOK = {
    "error": ("\u2718", "bold red"),  # ✘
    "warning": ("\u26a0", "yellow"),  # ⚠
    "info": ("\u2139", "cyan"),  # ℹ
}
FIX_WORDS = {"restart": "restart", "separate": "give own namespaces", "share": "share again", "undo": "undo"}


def fix_cell(fix: str | None) -> Text:
    if not fix:
        return Text("")
    action, arg = parse_fix(fix)
    return Text(f"\u23ce {FIX_WORDS.get(action, action)} {arg}".rstrip(), style="bold")  # ⏎


def finding_text(f: FindingView) -> Text:
    """One finding as it reads in the panel; wraps to the panel's width."""
    glyph, style = SEVERITY_LOOK.get(f.severity, ("?", ""))
    text = Text(f"{glyph} {f.severity:<7} ", style=style)
    text.append(f.service or "-", style="bold")
    text.append("  ")
    text.append(sanitize(f.message))
    if f.hint:
        text.append(f" ({sanitize(f.hint)})", style="dim")
    if f.where:
        text.append(f"  {f.where}", style="dim italic")
    if f.fix:
        text.append("  ")
        text.append_text(fix_cell(f.fix))
    return text


class FindingsPanel(Vertical):
    """A title line and the findings; enter on one asks the app to apply its fix."""

    class FixRequested(Message):
        def __init__(self, finding: FindingView) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.findings: list[FindingView] = []
        self.checked_at: datetime | None = None
        self.checking = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="findings-title")

    def on_mount(self) -> None:
        self.call_after_refresh(self._list_soon)  # hidden until there are findings: not in the first frame's cost

    def _list_soon(self) -> None:
        try:
            self._list()
        except MountError:  # the app closed before its first frame (a load error): nothing to show
            pass

    def _list(self) -> OptionList:
        found = self.query("#findings-list")
        if found:
            return found.first(OptionList)
        options = OptionList(id="findings-list")
        options.display = False
        self.mount(options)
        return options

    def _title(self) -> Text:
        text = Text("findings", style="bold")
        if self.checking:
            text.append("  checking\u2026", style="italic")
        elif self.checked_at is None:
            text.append("  not checked yet", style="dim")
        elif not self.findings:
            text.append("  \u2714 none", style="green")
        else:
            errors = sum(1 for f in self.findings if f.severity == "error")
            text.append(f"  {len(self.findings)}", style="bold red" if errors else "yellow")
            if any(f.fix for f in self.findings):
                text.append("  (\u23ce on a finding applies its fix)", style="dim")
        if self.checked_at is not None and not self.checking:
            text.append(f"  checked {self.checked_at:%H:%M:%S}", style="dim")
        return text

    def set_checking(self, checking: bool) -> None:
        self.checking = checking
        self.query_one("#findings-title", Static).update(self._title())

    def show(self, findings: list[FindingView], at: datetime) -> None:
        self.findings = list(findings)
        self.checked_at = at
        self.checking = False
        self.query_one("#findings-title", Static).update(self._title())
        options = self._list()
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([finding_text(f) for f in self.findings])
        if self.findings:
            options.highlighted = min(highlighted or 0, len(self.findings) - 1)
        options.display = bool(self.findings)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.findings) and self.findings[index].fix:
            self.post_message(self.FixRequested(self.findings[index]))
        elif 0 <= index < len(self.findings):
            self.app.notify("this finding has no one-key fix", severity="information")
