"""The log pane: Textual's light `Log` with per-line styling, search, follow, timestamps and wrap.

`Log` keeps plain strings and renders only the lines on screen, which keeps a
flood cheap (RichLog costs tens of MB for 10k lines). Styling comes from a
Rich highlighter that knows, for the line being rendered, what kind of line it
is (a container's text, an engine event, a wrapped continuation) and how long
its prefix is; that metadata lives beside the strings, so nothing in a
container's own text can make a line look like an engine event.

Lines arrive already sanitized (stacktui.core.sanitize): never markup, never
terminal control.
"""
from __future__ import annotations

import re
import time
from typing import NamedTuple, Sequence

from rich.cells import cell_len, chop_cells
from rich.highlighter import Highlighter
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.geometry import Region, Size
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widgets import Input, Log, Static

from stacktui.core.engine.logstream import EVENT, LogLine
from stacktui.core.live.store import LogStore
from stacktui.core.sanitize import DISPLAY_LIMIT, for_display
from stacktui.ui.logfilter import FilterInput, LogFilterMixin
from stacktui.ui.scrollbar import QuietScrollBar

TEXT, EVENT_LINE, CONTINUATION = 0, 1, 2
PALETTE = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta",
           "bright_green", "bright_blue"]
TIMESTAMP_STYLE = Style(dim=True)
EVENT_STYLE = Style(bold=True, italic=True, color="bright_cyan")
MATCH_STYLE = Style(color="black", bgcolor="yellow")
CURRENT_MATCH_STYLE = Style(color="black", bgcolor="dark_orange", bold=True, underline=True)
SEPARATOR = " \u2502 "  # " │ "
DEFAULT_VIEW_LINES = 50_000


class Meta(NamedTuple):
    kind: int  # TEXT, EVENT_LINE or CONTINUATION
    ts: int = 0  # characters of the timestamp prefix
    prefix: int = 0  # characters of timestamp plus service prefix
    colour: int = -1  # PALETTE index of the service in the merged view, -1 for none


PLAIN = Meta(TEXT)
EVENT_META = Meta(EVENT_LINE)


def service_style(colour: int) -> Style:
    return _SERVICE_STYLES[colour % len(PALETTE)]


_SERVICE_STYLES = [Style(color=name, bold=True) for name in PALETTE]


class LogHighlighter(Highlighter):
    """Styles the line being rendered from its Meta; marks search matches."""

    def __init__(self) -> None:
        self.meta: Meta | None = None
        self.current = False  # the line holds the current search match
        self.pattern: re.Pattern[str] | None = None

    def highlight(self, text: Text) -> None:
        meta = self.meta
        if meta is not None:
            if meta.ts:
                text.stylize(TIMESTAMP_STYLE, 0, meta.ts)
            if meta.colour >= 0 and meta.prefix > meta.ts:
                text.stylize(service_style(meta.colour), meta.ts, meta.prefix)
            if meta.kind == EVENT_LINE:
                text.stylize(EVENT_STYLE, meta.prefix)
        if self.pattern is not None:
            style = CURRENT_MATCH_STYLE if self.current else MATCH_STYLE
            start = meta.prefix if meta is not None else 0
            for m in self.pattern.finditer(text.plain, start):
                if m.end() > m.start():
                    text.stylize(style, m.start(), m.end())


class LogView(Log):
    """A Log whose lines carry Meta, pruned in chunks so a full buffer does not prune on every batch.

    Following is the user's intent (`follow`), not "the view happened to be at the end when
    lines arrived": a table growing above the log must not silently stop the follow. Scrolling
    up pauses; scrolling back to the end, `end`, or `f` resumes.
    """

    def __init__(self, cap: int = DEFAULT_VIEW_LINES, **kwargs) -> None:
        super().__init__(highlight=True, max_lines=None, auto_scroll=False, **kwargs)
        self.highlighter = LogHighlighter()
        self.cap = cap
        self.meta: list[Meta] = []
        self.current_match: int | None = None
        self.follow = True
        self._strips: dict[tuple[int, int, int], Strip] = {}
        self._frame_style: Style | None = None  # the widget's style while one frame renders its lines

    class FollowChanged(Message):
        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def set_follow(self, follow: bool) -> None:
        changed = follow != self.follow
        self.follow = follow
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        if changed:
            self.post_message(self.FollowChanged(follow))

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's, created the same way, but a QuietScrollBar (see there)."""
        if self._vertical_scrollbar is None:
            bar = self._vertical_scrollbar = QuietScrollBar(vertical=True, name="vertical",
                                                            thickness=self.scrollbar_size_vertical)
            bar.display = False
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        # Log keeps no cache of rendered lines (it only fills one while text is selected), so a
        # one-line scroll would render every visible line again: once a second per quiet stream.
        cacheable = self.text_selection is None
        key = (index, scroll_x, self.size.width)
        if cacheable:
            strip = self._strips.get(key)
            if strip is not None:
                return strip
        hl = self.highlighter
        meta = self.meta[index] if 0 <= index < len(self.meta) else None
        if meta is not None and cacheable and hl.pattern is None:
            strip = self._styled_strip(index, scroll_x, meta)
        else:
            hl.meta = meta
            hl.current = index == self.current_match
            strip = super().render_line(y)
        if cacheable and index < len(self.meta):
            if len(self._strips) > 4 * max(50, self.size.height):
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        # One style for every line of a frame: Log looks it up per line, walking every ancestor's
        # styles, and during a flood each frame renders every visible line anew.
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def _styled_strip(self, index: int, scroll_x: int, meta: Meta) -> Strip:
        """What Log's render gives for a line without search matches, built from the Meta's spans
        straight into segments: no rich Text, no highlighter pass, which are most of a frame's
        cost when a flood replaces every visible line."""
        base = self._frame_style or self.rich_style
        text = self._process_line(self._lines[index])
        segments: list[Segment] = []
        start = 0
        if meta.ts:
            segments.append(Segment(text[:meta.ts], base + TIMESTAMP_STYLE))
            start = meta.ts
        if meta.prefix > start:
            style = base + service_style(meta.colour) if meta.colour >= 0 else base
            segments.append(Segment(text[start:meta.prefix], style))
            start = meta.prefix
        if start < len(text):
            segments.append(Segment(text[start:], base + EVENT_STYLE if meta.kind == EVENT_LINE else base))
        strip = Strip(segments, cell_len(text))
        return strip.crop_extend(scroll_x, scroll_x + self.size.width, base).apply_offsets(scroll_x, index)

    def forget_rendering(self) -> None:
        """Rendered lines are stale: the lines moved, the search changed, or the styles did."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def add(self, texts: list[str], metas: list[Meta]) -> int:
        """Append lines; returns how many old lines were pruned from the top.

        This is `Log.write_lines` without its per-line costs, which a flood pays 200,000
        times: no `splitlines` (sanitized lines hold no separators), no per-line cache
        discards, no worker thread measuring every line's width (it competes with the
        log readers for the GIL); old lines go in chunks, not on every batch.
        """
        if not texts:
            return 0
        if len(texts) > self.cap:  # more than the view holds: the older ones would go at once
            texts, metas = texts[-self.cap:], metas[-self.cap:]
        lines = self._lines
        start = len(lines)
        lines.extend(texts)
        self.meta.extend(metas)
        removed = 0
        excess = len(lines) - self.cap
        if excess > max(1000, self.cap // 10):
            del lines[:excess]
            del self.meta[:excess]
            removed = excess
            self._render_line_cache.clear()
            self._strips.clear()
            if self.current_match is not None:
                self.current_match = self.current_match - removed if self.current_match >= removed else None
        self._width = widest(texts, self._width)
        self._resize_virtual(Size(self._width, len(lines)))
        if removed or not self.follow or len(texts) >= self.size.height:
            self.refresh()  # a flood's batch fills the pane anyway: one repaint, not a region per line
        else:
            # Only the new lines: a quiet stream's line a second would otherwise repaint the whole
            # pane while it is not full yet. Once it is, the scroll below repaints what moved.
            self.refresh_lines(start, len(texts))
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        return removed

    def _resize_virtual(self, size: Size) -> None:
        """Grow the scrollable height without a screen layout when nothing else changes.

        `virtual_size` is a layout reactive: every assignment lays the whole screen out again
        and repaints every widget, which at 20 batches a second costs more than the log lines.
        While the width is unchanged and the vertical scrollbar is already showing, only the
        log and its scrollbar change: set the value quietly and tell the scrollbar.
        """
        old = self.virtual_size
        view = self.size.height
        # Same scrollbar either way: both taller than the view, or (a short log growing by a line
        # per healthcheck while idle) both within it.
        same_bar = (old.height > view and size.height > view) or (0 < view and old.height <= view and size.height <= view)
        if size.width == old.width and same_bar:
            self.set_reactive(Log.virtual_size, size)
            # A log within the view draws its scrollbar as a bare track whatever its length (the
            # scrollbar is always there), and repainting the whole bar cost as much as the new line.
            if self.show_vertical_scrollbar:
                bar = self.vertical_scrollbar
                if max(old.height, size.height) > bar.window_size:
                    bar.window_virtual_size = size.height
        else:
            self.virtual_size = size

    def reset(self, texts: list[str], metas: list[Meta]) -> None:
        self.clear()
        self._strips.clear()
        self.meta = []
        self.current_match = None
        self.add(texts, metas)

    def on_resize(self, event: events.Resize) -> None:
        if self.follow:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    # The user scrolling is what pauses and resumes following.
    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.follow and self.max_scroll_y > 0:
            self.set_follow(False)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if not self.follow:
            self.call_after_refresh(self._resume_at_end)

    def _resume_at_end(self) -> None:
        if not self.follow and self.is_vertical_scroll_end:
            self.set_follow(True)

    def action_scroll_up(self) -> None:
        self.set_follow(False)
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.set_follow(False)
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.set_follow(False)
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.set_follow(True)

    def action_scroll_down(self) -> None:
        super().action_scroll_down()
        self.call_after_refresh(self._resume_at_end)

    def action_page_down(self) -> None:
        super().action_page_down()
        self.call_after_refresh(self._resume_at_end)


def widest(texts: Sequence[str], floor: int) -> int:
    """The widest line in cells, at least `floor`; exact where it matters, cheap for the rest.

    A line of n characters takes between n and 2n cells (wide characters), more with tabs.
    ASCII without tabs is exactly n; only other lines longer than half the width are measured.
    """
    best = floor
    if not texts:
        return best
    # The whole batch at once, in C: a flood's batches are thousands of plain ASCII lines.
    joined = "".join(texts)
    if "\t" not in joined:
        longest = max(map(len, texts))
        if longest * 2 <= best:
            return best
        if joined.isascii():
            return max(best, longest)
    for t in texts:
        n = len(t)
        if n * 2 <= best and "\t" not in t:
            continue
        if t.isascii() and "\t" not in t:
            if n > best:
                best = n
        else:
            w = cell_len(t.expandtabs())
            if w > best:
                best = w
    return best


# --- turning stored lines into display lines ------------------------------------------------------

_clock_cache: dict[int, str] = {}


def clock(key: int) -> str:
    """Local wall-clock time of an engine timestamp, to the millisecond."""
    sec, rest = divmod(key, 1_000_000_000)
    hms = _clock_cache.get(sec)
    if hms is None:
        if len(_clock_cache) > 4096:
            _clock_cache.clear()
        hms = _clock_cache[sec] = time.strftime("%H:%M:%S", time.localtime(sec))
    return f"{hms}.{rest // 1_000_000:03d} "


def format_lines(lines: Sequence[LogLine], *, merged: bool, timestamps: bool, name_width: int,
                 colours: dict[str, int], wrap_width: int | None = None) -> tuple[list[str], list[Meta]]:
    """Display strings and their Meta for a batch of stored lines."""
    texts: list[str] = []
    metas: list[Meta] = []
    limit = DISPLAY_LIMIT
    if not merged and not timestamps and wrap_width is None:  # the common case, per line as cheap as it gets
        texts = [line.text for line in lines]
        if texts and max(map(len, texts)) > limit:
            texts = [t if len(t) <= limit else for_display(t) for t in texts]
        metas = [EVENT_META if line.stream == EVENT else PLAIN for line in lines]
        return texts, metas
    meta_cache: dict[tuple[str, bool], tuple[Meta, Meta]] = {}
    for line in lines:
        t = line.text
        if len(t) > limit:
            t = for_display(t)
        ts = clock(line.key) if timestamps else ""
        prefix = ts + (f"{line.service:<{name_width}}{SEPARATOR}" if merged else "")
        is_event = line.stream == EVENT
        pair = meta_cache.get((line.service, is_event))
        if pair is None:
            colour = colours.get(line.service, -1) if merged else -1
            kind = EVENT_LINE if is_event else TEXT
            pair = meta_cache[(line.service, is_event)] = (
                Meta(kind, len(ts), len(prefix), colour), Meta(CONTINUATION, 0, len(prefix), -1))
        if wrap_width is None or cell_len(t) + len(prefix) <= wrap_width:
            texts.append(prefix + t)
            metas.append(pair[0])
            continue
        room = max(10, wrap_width - len(prefix))
        chunks = chop_cells(t.expandtabs(), room) or [""]
        texts.append(prefix + chunks[0])
        metas.append(pair[0])
        pad = " " * len(prefix)
        for chunk in chunks[1:]:
            texts.append(pad + chunk)
            metas.append(pair[1])
    return texts, metas


# --- the pane ------------------------------------------------------------------------------------------

class SearchInput(Input):
    BINDINGS = [Binding("escape", "close", "close search", show=False)]

    class Closed(Message):
        pass

    def action_close(self) -> None:
        self.post_message(self.Closed())


class LogPane(LogFilterMixin, Vertical):
    """Title line, the log view, and the search (`/`) and filter (`&`) fields that appear on their keys."""

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
        search = SearchInput(placeholder="search the log: enter to find, esc to close", id="search")
        search.display = False
        yield search
        line_filter = FilterInput(placeholder="show only lines with this text, or /regex/; empty shows all", id="filter")
        line_filter.display = False
        yield line_filter

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

    def _view_lines(self) -> Sequence[LogLine]:
        """The stored lines this view shows: one service or all merged, through the filter, at most the cap."""
        lines = self.store.merged(self.services or None) if self.merged else self.store.lines(self.service or "")
        lines = self._filtered(lines)
        return lines[-self.view_lines:] if len(lines) > self.view_lines else lines

    def show(self, service: str | None) -> None:
        """Switch to one service's lines, or to every service merged (None)."""
        self.service = service
        self.redraw()

    def redraw(self) -> None:
        view = self.log_view
        if self.wrap:
            self._wrap_width = max(20, view.scrollable_content_region.width or view.size.width or 80)
        texts, metas = self._format(self._view_lines())
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
            mine = pending
        else:
            service = self.service
            mine = [line for line in pending if line.service == service]
        mine = self._filtered(mine)
        if not mine:
            return False
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
            self.new_while_paused += len(mine)
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
            width = max(20, self.log_view.scrollable_content_region.width)
            if width != self._wrap_width:
                self.redraw()

    # -- search ------------------------------------------------------------------------------------------

    def open_search(self) -> None:
        field = self.query_one(SearchInput)
        field.display = True
        field.value = self.query_text
        field.focus()

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
