"""The log pane: a title line, the log view, and the search field that `/` opens.

It chooses what the view shows (one service, or every service merged), formats
the store's lines for it (`logformat`), and keeps the title (follow, matches,
flags) current.
"""
from __future__ import annotations

import re
from typing import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import MountError
from textual.widgets import Input, Static

from stacktui.core.engine.loglines import LogLine
from stacktui.core.live.store import LogStore
from stacktui.ui.logformat import DEFAULT_VIEW_LINES, Meta, format_lines
from stacktui.ui.logfilter import EMPTY_HINT, FilterInput, LogFilterMixin
from stacktui.ui.logview import LogView


class SearchInput(Input):
    BINDINGS = [Binding("escape", "close", "close search", show=False)]

    class Closed(Message):
        pass

    def action_close(self) -> None:
        self.post_message(self.Closed())


class LogPane(LogFilterMixin, Vertical):
    """Title line, the log view, and a search field that appears on `/`."""

    def __init__(self, store: LogStore, services: list[str], *, view_lines: int = DEFAULT_VIEW_LINES,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.services = list(services)
        self.view_lines = view_lines
        self.service: str | None = None  # None: the merged view
        self.timestamps = False
        self.wrap = False
        self.query_text = ""
        self.matches = 0
        self.rank = 0  # which match (1-based, oldest first) is the current one; 0 for none
        self.new_while_paused = 0
        self._pattern: re.Pattern[str] | None = None
        self._wrap_width: int | None = None
        self._title: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield LogView(cap=self.view_lines, id="log")

    def on_mount(self) -> None:
        # The search and filter fields are hidden until asked for: mounted once the first frame is
        # drawn, they are not part of its cost (two Inputs: 5-10 ms of start-up).
        self.call_after_refresh(self._fields_soon)

    def _fields_soon(self) -> None:
        try:
            self.ensure_fields()
        except MountError:  # the app closed before its first frame (a load error): nothing to show
            pass

    def ensure_fields(self) -> None:
        """Mount the (hidden) search and filter fields, if they are not there yet."""
        if self.query(SearchInput):
            return
        search = SearchInput(placeholder="search the log: enter to find, esc to close", id="search")
        search.display = False
        line_filter = FilterInput(placeholder=EMPTY_HINT, id="filter")
        line_filter.display = False
        self.mount(search, line_filter)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def merged(self) -> bool:
        return self.service is None

    @property
    def following(self) -> bool:
        return self.log_view.follow

    def set_services(self, services: list[str]) -> None:
        self.services = list(services)

    # -- what is shown -------------------------------------------------------------------------------

    def _format(self, lines: Sequence[LogLine]) -> tuple[list[str], list[Meta]]:
        names = self.services or sorted({line.service for line in lines})
        return format_lines(lines, merged=self.merged, timestamps=self.timestamps,
                            name_width=max((len(n) for n in names), default=0),
                            colours={n: i for i, n in enumerate(names)},
                            wrap_width=self._wrap_width if self.wrap else None)

    def _format_unwrapped(self, lines: Sequence[LogLine]) -> tuple[list[str], list[Meta]]:
        wrap, self.wrap = self.wrap, False
        try:
            return self._format(lines)
        finally:
            self.wrap = wrap

    def _view_lines(self, drain: bool = False) -> Sequence[LogLine]:
        """The stored lines this view shows: one service or all merged, through the filter, at most the cap.

        `drain`: the view is drawn anew from them, so the lines waiting for the next flush (among
        them already) are dropped in the same look, or that flush would add them a second time."""
        store = self.store
        lines: Sequence[LogLine] = (store.merged(self.services or None, drain=drain) if self.merged
                                    else store.lines(self.service or "", drain=drain))
        lines = self._filtered(lines)
        return lines[-self.view_lines:] if len(lines) > self.view_lines else lines

    def show(self, service: str | None) -> None:
        """Switch to one service's lines, or to every service merged (None)."""
        self.service = service
        self.redraw()

    def redraw(self) -> None:
        view = self.log_view
        if self.wrap:
            self._wrap_width = max(20, view.text_columns or 80)
        texts, metas = self._format(self._view_lines(drain=True))
        view.reset(texts, metas)
        self.new_while_paused = 0
        if self._pattern is not None:
            self.matches = sum(1 for t in view.lines if self._pattern.search(t))
            self.rank = 0
        self.update_title()

    def flush(self, pending: list[LogLine]) -> bool:
        """New lines from the store's drain: append those of this view in one write.

        Returns whether any were this view's (the log will be drawn again)."""
        if self.merged:
            mine: Sequence[LogLine] = pending
        else:
            service = self.service
            mine = [line for line in pending if line.service == service]
        mine = self._filtered(mine)
        if not mine:
            return False
        arrived = len(mine)
        if arrived > self.view_lines:  # a flood's batch: the view would drop the older ones unseen, unformatted
            mine = mine[-self.view_lines:]
        view = self.log_view
        following = view.follow
        texts, metas = self._format(mine)
        removed = view.add(texts, metas)
        if self._pattern is not None:
            search = self._pattern.search
            self.matches += sum(1 for t in texts if search(t))
            if removed:
                self.matches = sum(1 for t in view.lines if search(t))
                self.rank = self._rank()
        if not following:
            self.new_while_paused += arrived
        self.update_title()
        return True

    def update_title(self) -> None:
        title = Text()
        title.append("logs ", style="dim")
        if self.merged:
            title.append("merged", style="bold")
        else:
            title.append(self.service or "-", style="bold")
        view = self.log_view
        if view.follow:
            title.append("  \u25b6 following", style="green")
        else:
            title.append("  \u275a\u275a paused", style="yellow")
            if self.new_while_paused:
                title.append(f" (+{self.new_while_paused} new)", style="yellow")
        if self._pattern is not None:
            where = f"{self.rank}/{self.matches}" if self.rank else f"{self.matches} matches"
            title.append(f"  \u2315 {self.query_text}: {where}", style="bold")  # ⌕
        if self.line_filter is not None:
            title.append(self.filter_title(), style="bold")
        flags = [name for name, on in (("timestamps", self.timestamps), ("wrap", self.wrap)) if on]
        if flags:
            title.append("  [" + ", ".join(flags) + "]", style="dim")
        if title != self._title:  # Static.update lays the screen out again: only when it reads differently
            self._title = title
            self.query_one("#log-title", Static).update(title)

    # -- follow, timestamps, wrap --------------------------------------------------------------------

    def toggle_follow(self) -> bool:
        view = self.log_view
        view.set_follow(not view.follow)
        return view.follow

    def on_log_view_follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        if event.follow:
            self.new_while_paused = 0
        self.update_title()

    def toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.redraw()

    def toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            width = max(20, self.log_view.text_columns)
            if width != self._wrap_width:
                self.redraw()

    # -- search ------------------------------------------------------------------------------------------

    def open_search(self) -> None:
        self.ensure_fields()
        field = self.query_one(SearchInput)
        field.display = True
        field.value = self.query_text
        self.focus_now(field)

    def focus_now(self, field: Input) -> None:
        """Focus the field before the next key is handled: keys typed right after `/` or `&` (one read
        from the terminal) are the field's, never the table's or the log's (which they would move,
        pausing the follow). `focus()` would wait behind those keys."""
        self.screen.set_focus(field)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if isinstance(event.input, FilterInput):
            self._close_filter_field()
            self.set_filter(event.value)
            return
        self._close_search_field()
        self.search(event.value)

    def on_search_input_closed(self, event: SearchInput.Closed) -> None:
        event.stop()
        self._close_search_field()

    def _close_search_field(self) -> None:
        field = self.query_one(SearchInput)
        field.display = False
        self.log_view.focus()

    def search(self, query: str) -> None:
        """Literal, case-insensitive unless the query has capitals; jumps to the newest match."""
        view = self.log_view
        self.query_text = query
        if not query:
            self.clear_search()
            return
        self._pattern = re.compile(re.escape(query), 0 if any(c.isupper() for c in query) else re.IGNORECASE)
        view.highlighter.pattern = self._pattern
        self.matches = sum(1 for t in view.lines if self._pattern.search(t))
        view.current_match = None
        self.rank = 0
        view.forget_rendering()
        if self.matches:
            self._jump(len(view.lines), -1)
        else:
            self.app.notify(f"no match for {query!r}", severity="warning", timeout=3)
        self.update_title()

    def clear_search(self) -> None:
        view = self.log_view
        self._pattern = None
        self.query_text = ""
        self.matches = 0
        self.rank = 0
        view.highlighter.pattern = None
        view.current_match = None
        view.forget_rendering()
        self.update_title()

    def next_match(self, direction: int) -> bool:
        """n (direction +1, newer) and N (-1, older); wraps around."""
        if self._pattern is None:
            self.app.notify("no search: press / first", severity="information", timeout=2)
            return False
        view = self.log_view
        start = view.current_match
        if start is None:
            start = view.scroll_offset.y + (view.size.height if direction < 0 else 0) - direction
        found = self._jump(start, direction)
        self.update_title()
        return found

    def _jump(self, start: int, direction: int) -> bool:
        view = self.log_view
        lines = view.lines
        n = len(lines)
        if not n or self._pattern is None:
            return False
        search = self._pattern.search
        index = start
        for _ in range(n):
            index += direction
            if index >= n or index < 0:
                index %= n
            if search(lines[index]):
                view.current_match = index
                self.rank = self._rank()
                view.set_follow(False)  # reading a match: new lines must not pull the view away
                view.scroll_to(y=max(0, index - view.size.height // 2), animate=False, immediate=True)
                view.forget_rendering()
                return True
        return False

    def _rank(self) -> int:
        view = self.log_view
        if view.current_match is None or self._pattern is None:
            return 0
        search = self._pattern.search
        lines = view.lines
        return sum(1 for i in range(min(view.current_match + 1, len(lines))) if search(lines[i]))

    def visible_lines(self) -> list[str]:
        """The plain text of the log lines on screen now (for tests and diagnostics)."""
        view = self.log_view
        top = view.scroll_offset.y
        return list(view.lines[top:top + view.size.height])
