"""The log view: a line-API widget of stacktui's with per-line styling, cached strips, chunked
pruning, follow, and a scrollbar of its own that repaints only the rows the thumb changes.

It keeps plain strings and renders only the lines on screen, which keeps a flood cheap (RichLog
costs tens of MB for 10k lines). Styling comes from the Meta beside each string (`logformat`);
the pane around this view (title, search, switching services) is `logpane`.
"""
from __future__ import annotations

import re
from math import ceil

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBarRender
from textual.selection import Selection
from textual.strip import Strip

from stacktui.ui.logformat import (CURRENT_MATCH_STYLE, DEFAULT_VIEW_LINES, EVENT_LINE, EVENT_STYLE, MATCH_STYLE,
                                   PALETTE, TIMESTAMP_STYLE, LogHighlighter, Meta, event_style, service_style,
                                   widest)

__all__ = ["CURRENT_MATCH_STYLE", "DEFAULT_VIEW_LINES", "EVENT_STYLE", "MATCH_STYLE", "PALETTE", "LogView"]

_CONTROL = re.compile("[\u0000-\u0014]")
BAR_WIDTH = 2  # Textual's default scrollbar-size-vertical: the pane is laid out as with a Log


def printable_line(line: str) -> str:
    """A line as drawn: tabs expanded, control characters shown as \ufffd (sanitized lines hold none)."""
    return _CONTROL.sub("\ufffd", line.expandtabs())


class LogView(ScrollView, can_focus=True):
    """Lines that carry Meta, pruned in chunks so a full buffer does not prune on every batch.

    Following is the user's intent (`follow`), not "the view happened to be at the end when
    lines arrived": a table growing above the log must not silently stop the follow. Scrolling
    up pauses; scrolling back to the end, `end`, or `f` resumes.
    """

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $text;
        overflow: scroll;
        scrollbar-size-vertical: 0;  /* the view draws its own (bar_rows) */
        &:focus { background-tint: $foreground 5%; }
    }
    """

    def __init__(self, cap: int = DEFAULT_VIEW_LINES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []
        self.text_width = 0  # the widest line, in cells
        self.highlighter = LogHighlighter()
        self.cap = cap
        self.meta: list[Meta] = []
        self.current_match: int | None = None
        self.follow = True
        self._strips: dict[tuple[int, int, int], Strip] = {}
        self._frame_style: Style | None = None  # the widget's style while one frame renders its lines
        self._frame: tuple[int, int, int, int, bool] | None = None  # _frame_facts while one frame renders
        self._bar: tuple[tuple[object, ...], list[Strip]] | None = None  # (inputs, rows) of the last bar_rows()

    @property
    def allow_select(self) -> bool:
        return True

    def on_mount(self) -> None:
        self._retone()
        self.app.theme_changed_signal.subscribe(self, self._retone)

    def _retone(self, _theme: object = None) -> None:
        """Service prefixes and engine lines in the shades the theme can show."""
        try:
            light = not self.app.current_theme.dark
        except RuntimeError:  # NoActiveAppError (a bare view in a test): the dark shades
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

    def render_line(self, y: int) -> Strip:
        frame = self._frame
        if frame is None:
            frame = self._frame_facts()
        scroll_x, scroll_y, width, height, cacheable = frame
        text_width = max(0, width - BAR_WIDTH)
        index = scroll_y + y
        # A one-line scroll would otherwise render every visible line again: once a second per quiet stream.
        key = (index, scroll_x, text_width)
        strip = self._strips.get(key) if cacheable else None
        if strip is None:
            meta = self.meta[index] if 0 <= index < len(self.meta) else None
            if index >= len(self.lines):
                strip = Strip.blank(text_width, self._frame_style or self.rich_style)
            elif meta is not None and cacheable and self.highlighter.pattern is None:
                strip = self._styled_strip(index, scroll_x, text_width, meta)
            else:
                strip = self.highlighted_strip(index, scroll_x, text_width)
            if cacheable and index < len(self.meta):
                if len(self._strips) > 4 * max(50, height):
                    self._strips.clear()
                self._strips[key] = strip
        bar = self.bar_rows(height)
        return Strip.join([strip, bar[y]]) if 0 <= y < len(bar) else strip

    def render_lines(self, crop: Region) -> list[Strip]:
        # One style for every line of a frame: looking it up walks every ancestor's styles, and
        # during a flood each frame renders every visible line anew. The scroll offset, size and
        # selection too, once a frame: each is a walk up the DOM (text_selection looks for the screen).
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

    def highlighted_strip(self, index: int, scroll_x: int, width: int) -> Strip:
        """A line through rich Text and the highlighter (search matches, the current one, a selection)."""
        base = self._frame_style or self.rich_style
        plain = printable_line(self.lines[index])
        text = Text(plain, no_wrap=True)
        text.stylize(base)
        hl = self.highlighter
        hl.meta = self.meta[index] if 0 <= index < len(self.meta) else None
        hl.current = index == self.current_match
        text = hl(text)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(text) if end == -1 else end)
        strip = Strip(text.render(self.app.console), cell_len(plain))
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

    def _styled_strip(self, index: int, scroll_x: int, width: int, meta: Meta) -> Strip:
        """What highlighted_strip gives for a line without search matches, built from the Meta's
        spans straight into segments: no rich Text, no highlighter pass, which are most of a
        frame's cost when a flood replaces every visible line."""
        base = self._frame_style or self.rich_style
        text = printable_line(self.lines[index])
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
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

    @property
    def text_columns(self) -> int:
        """How many cells of a line show: the view's width less its scrollbar."""
        return max(0, self.scrollable_content_region.width - BAR_WIDTH)

    # -- the scrollbar ------------------------------------------------------------------------------

    def bar_rows(self, height: int) -> list[Strip]:
        """The vertical scrollbar, a strip per row, as Textual's ScrollBar draws it (its colours are
        the view's scrollbar styles). Drawn by the view with its lines: the thumb moves only when
        the view scrolls, which repaints the view anyway, and a ScrollBar widget beside it
        repaints its whole height on every change of length or position (at idle, a line a
        second, that cost as much as the line)."""
        styles = self.styles
        background, color = styles.scrollbar_background, styles.scrollbar_color
        if background.a < 1:
            background = self.background_colors[0] + background
        color = background + color
        virtual = self.virtual_size.height
        window = height if height < virtual else 0
        position = int(self.scroll_offset.y * 8) / 8
        inputs = (height, virtual, window, position, background, color)
        if self._bar is not None and self._bar[0] == inputs:
            return self._bar[1]
        drawn = ScrollBarRender.render_bar(size=height, virtual_size=ceil(virtual), window_size=ceil(window),
                                           position=position, thickness=BAR_WIDTH, vertical=True,
                                           back_color=background.rich_color, bar_color=color.rich_color)
        rows = [Strip([Segment(seg.text, seg.style.clear_meta_and_links() if seg.style else None)], BAR_WIDTH)
                for seg in drawn.segments]
        self._bar = (inputs, rows)
        return rows

    def on_click(self, event: events.Click) -> None:
        """A click on the scrollbar pages towards it, as on Textual's."""
        if event.x < self.size.width - BAR_WIDTH or self.max_scroll_y <= 0:
            return
        thumb = self.scroll_offset.y * self.size.height / max(1, self.virtual_size.height)
        if event.y < thumb:
            self.action_page_up()
        else:
            self.action_page_down()

    # -- lines --------------------------------------------------------------------------------------

    def refresh_lines(self, start: int, count: int = 1) -> None:
        """Repaint these lines (indexes into `lines`) where they are on screen."""
        self.refresh(Region(0, start - self.scroll_offset.y, self.size.width, count))

    def forget_rendering(self) -> None:
        """Rendered lines are stale: the lines moved, the search changed, or the styles did."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._bar = None

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self.lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()

    def clear(self) -> None:
        self.lines = []
        self.meta = []
        self.text_width = 0
        self._strips.clear()
        self.virtual_size = Size(0, 0)

    def add(self, texts: list[str], metas: list[Meta]) -> int:
        """Append lines; returns how many old lines were pruned from the top.

        No per-line costs, which a flood pays 200,000 times: no `splitlines` (sanitized lines hold
        no separators), no per-line cache discards, no worker thread measuring every line's width
        (it competes with the log readers for the GIL); old lines go in chunks, not on every batch.
        """
        if not texts:
            return 0
        if len(texts) > self.cap:  # more than the view holds: the older ones would go at once
            texts, metas = texts[-self.cap:], metas[-self.cap:]
        lines = self.lines
        start = len(lines)
        lines.extend(texts)
        self.meta.extend(metas)
        removed = 0
        excess = len(lines) - self.cap
        if excess > max(1000, self.cap // 10):
            del lines[:excess]
            del self.meta[:excess]
            removed = excess
            self._strips.clear()
            if self.current_match is not None:
                self.current_match = self.current_match - removed if self.current_match >= removed else None
        self.text_width = widest(texts, self.text_width)
        self._resize_virtual(Size(self.text_width + BAR_WIDTH, len(lines)))
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
        return removed

    def _resize_virtual(self, size: Size) -> None:
        """Grow the scrollable height without a screen layout when nothing else changes.

        `virtual_size` is a layout reactive: every assignment lays the whole screen out again
        and repaints every widget, which at 20 batches a second costs more than the log lines.
        While the width is unchanged and the scrollbar would show the same way, only the view
        changes: set the value quietly (the view draws its own scrollbar).
        """
        old = self.virtual_size
        view = self.size.height
        # Same scrollbar either way: both taller than the view, or (a short log growing by a line
        # per healthcheck while idle) both within it.
        same_bar = ((old.height > view and size.height > view)
                    or (0 < view and old.height <= view and size.height <= view))
        if size.width == old.width and same_bar:
            self.set_reactive(LogView.virtual_size, size)
        else:
            self.virtual_size = size

    def reset(self, texts: list[str], metas: list[Meta]) -> None:
        self.clear()
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
