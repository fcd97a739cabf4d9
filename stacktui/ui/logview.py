"""The log view: Textual's light `Log` with per-line styling, cached strips, chunked pruning and follow.

`Log` keeps plain strings and renders only the lines on screen, which keeps a
flood cheap (RichLog costs tens of MB for 10k lines). Styling comes from the
Meta beside each string (`logformat`); the pane around this view (title,
search, switching services) is `logpane`.
"""
from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widgets import Log

from stacktui.ui.logformat import (CURRENT_MATCH_STYLE, DEFAULT_VIEW_LINES, EVENT_LINE, EVENT_STYLE, MATCH_STYLE,
                                   PALETTE, TIMESTAMP_STYLE, LogHighlighter, Meta, event_style, service_style,
                                   widest)
from stacktui.ui.scrollbar import QuietScrollBar

__all__ = ["CURRENT_MATCH_STYLE", "DEFAULT_VIEW_LINES", "EVENT_STYLE", "MATCH_STYLE", "PALETTE", "LogView"]


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
        self._frame: tuple[int, int, int, int, bool] | None = None  # _frame_facts while one frame renders

    def on_mount(self) -> None:
        self._retone()
        self.app.theme_changed_signal.subscribe(self, self._retone)

    def _retone(self, _theme: object = None) -> None:
        """Service prefixes and engine lines in the shades the theme can show."""
        try:
            light = not self.app.current_theme.dark
        except Exception:  # no app theme (a bare view): the dark shades
            light = False
        if light != self.highlighter.light:
            self.highlighter.light = light
            self.forget_rendering()

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
        frame = self._frame
        if frame is None:
            frame = self._frame_facts()
        scroll_x, scroll_y, width, height, cacheable = frame
        index = scroll_y + y
        # Log keeps no cache of rendered lines (it only fills one while text is selected), so a
        # one-line scroll would render every visible line again: once a second per quiet stream.
        key = (index, scroll_x, width)
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
            if len(self._strips) > 4 * max(50, height):
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        # One style for every line of a frame: Log looks it up per line, walking every ancestor's
        # styles, and during a flood each frame renders every visible line anew.
        # The scroll offset, size and selection too, once a frame: each is a walk up the DOM
        # (text_selection looks for the screen). A full render of the 120x40 app's log: 1.11 -> 0.77 ms.
        self._frame_style = self.rich_style
        self._frame = self._frame_facts()
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None
            self._frame = None

    def _frame_facts(self) -> tuple[int, int, int, int, bool]:
        """(scroll x, scroll y, width, height, whether rendered lines may be cached) as they are now."""
        scroll_x, scroll_y = self.scroll_offset
        size = self.size
        return scroll_x, scroll_y, size.width, size.height, self.text_selection is None

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
            style = base + service_style(meta.colour, self.highlighter.light) if meta.colour >= 0 else base
            segments.append(Segment(text[start:meta.prefix], style))
            start = meta.prefix
        if start < len(text):
            segments.append(Segment(text[start:], base + event_style(self.highlighter.light)
                                    if meta.kind == EVENT_LINE else base))
        strip = Strip(segments, cell_len(text))
        width = self._frame[2] if self._frame is not None else self.size.width
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

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
        elif removed:  # paused: the lines the reader looks at moved up by what went, and so does the view
            self.scroll_to(y=max(0, self.scroll_offset.y - removed), animate=False, immediate=True)
        bar = self._vertical_scrollbar
        if isinstance(bar, QuietScrollBar) and self.show_vertical_scrollbar:
            bar.repaint_if_moved()  # length and position both current now (_resize_virtual)
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
        same_bar = ((old.height > view and size.height > view)
                    or (0 < view and old.height <= view and size.height <= view))
        if size.width == old.width and same_bar:
            self.set_reactive(Log.virtual_size, size)
            # A log within the view draws its scrollbar as a bare track whatever its length (the
            # scrollbar is always there), and repainting the whole bar cost as much as the new line.
            if self.show_vertical_scrollbar:
                bar = self.vertical_scrollbar
                if max(old.height, size.height) > bar.window_size:
                    # Quietly: with the log one line longer but not yet scrolled to its end, the
                    # thumb sits a step above where it will be, and comparing then repainted the
                    # whole bar for every line; add() has it compare once the scroll is done.
                    bar.set_reactive(QuietScrollBar.window_virtual_size, size.height)
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
