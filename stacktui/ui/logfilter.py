"""The log pane's filter mode (`&`, as in less) and saving (`ctrl+s`).

The filter hides what does not match, where search (`/`) highlights and jumps; both can be on.
`&text` keeps lines containing the text in any case, `&/regex/` those the regular expression
matches, an empty filter shows everything again. It is applied to the stored lines, so a line
arriving later is shown only if it matches, and switching service or merged keeps it.

Saving writes the lines the pane holds (the filtered ones while a filter is on) as they are
shown, prefixes and timestamps included, one per line, never wrapped, to a new file in the
directory stacktui was started in.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from stacktui.core.errors import StackError
from stacktui.core.live.logtools import LineFilter, save_lines

if TYPE_CHECKING:
    from textual.widget import Widget

    from stacktui.core.engine.loglines import LogLine
    from stacktui.ui.logformat import Meta
    from stacktui.ui.logview import LogView

    class _Pane(Widget):
        """What the mixin uses of the pane it is mixed into (LogPane), for the type checker only."""

        service: str | None

        @property
        def log_view(self) -> LogView: ...
        @property
        def merged(self) -> bool: ...
        def ensure_fields(self) -> None: ...
        def focus_now(self, field: Input) -> None: ...
        def redraw(self) -> None: ...
        def _view_lines(self, drain: bool = False) -> Sequence[LogLine]: ...
        def _format_unwrapped(self, lines: Sequence[LogLine]) -> tuple[list[str], list[Meta]]: ...
else:
    _Pane = object


EMPTY_HINT = "show only lines with this text, or /regex/; empty shows all"


class FilterInput(Input):
    """Opens empty, so enter on it shows every line; the filter in effect is in the placeholder, and up
    puts it in the field to edit."""

    BINDINGS = [Binding("escape", "close", "close filter", show=False),
                Binding("up", "recall", "edit the filter in effect", show=False)]
    recall = ""

    class Closed(Message):
        pass

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def action_recall(self) -> None:
        if self.recall:
            self.value = self.recall
            self.cursor_position = len(self.value)


def parse_filter(query: str) -> LineFilter | None:
    """`text` or `/regex/`; None for an empty query (no filter). ConfigError for a bad regex."""
    query = query.strip()
    if not query:
        return None
    if len(query) >= 2 and query.startswith("/") and query.endswith("/"):
        return LineFilter(query[1:-1], regex=True)
    return LineFilter(query)


class LogFilterMixin(_Pane):
    """Filter and save for LogPane: it calls `_filtered` on whatever lines it is about to show."""

    line_filter: LineFilter | None = None

    def _filtered(self, lines: Sequence["LogLine"]) -> Sequence["LogLine"]:
        if self.line_filter is None:
            return lines
        keep = self.line_filter.keep([line.text for line in lines])
        return [lines[i] for i in keep]

    def open_filter(self) -> None:
        self.ensure_fields()
        field = self.query_one(FilterInput)
        field.display = True
        now = self.line_filter
        field.recall = ("/" + now.query + "/" if now.regex else now.query) if now is not None else ""
        field.value = ""
        field.placeholder = (f"now {now.describe()}: enter shows all lines, \u2191 edits it, esc keeps it"
                             if now is not None else EMPTY_HINT)
        self.focus_now(field)

    def set_filter(self, query: str) -> bool:
        """Apply a filter (or clear it with ""); False with a notification when the regex is bad."""
        try:
            self.line_filter = parse_filter(query)
        except StackError as exc:
            self.app.notify(str(exc), severity="error", timeout=6)
            return False
        self.redraw()
        if self.line_filter is not None:
            shown = len(self.log_view.lines)
            self.app.notify(f"filter {self.line_filter.describe()}: {shown} line{'s' if shown != 1 else ''} "
                            "shown; & then enter shows all", timeout=4)
        return True

    def on_filter_input_closed(self, event: FilterInput.Closed) -> None:
        event.stop()
        self._close_filter_field()

    def _close_filter_field(self) -> None:
        field = self.query_one(FilterInput)
        field.display = False
        self.log_view.focus()

    def filter_title(self) -> str:
        return f"  \u29e9 only {self.line_filter.describe()}" if self.line_filter is not None else ""

    def saved_texts(self) -> list[str]:
        """The pane's lines as shown, unwrapped: exactly what `save` writes."""
        lines = self._view_lines()
        texts, _ = self._format_unwrapped(lines)
        return texts

    def save(self, directory: Path | None = None) -> Path | None:
        label = "merged" if self.merged else (self.service or "logs")
        if self.line_filter is not None:
            label += "-filtered"
        texts = self.saved_texts()
        try:
            path = save_lines(texts, directory or Path.cwd(), label)
        except (OSError, StackError) as exc:
            self.app.notify(f"the log was not saved: {exc}", severity="error", timeout=8)
            return None
        count = len(texts)
        self.app.notify(f"saved {count} line{'s' if count != 1 else ''} to {path}", title="log saved",
                        timeout=8)
        return path
