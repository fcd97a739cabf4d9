"""A vertical scrollbar that repaints only when the bar it draws changes."""
from __future__ import annotations

from math import ceil

from rich.console import RenderableType
from textual.geometry import Region
from textual.reactive import Reactive
from textual.scrollbar import ScrollBar


class QuietScrollBar(ScrollBar):
    """Following a long log moves the thumb by a fraction of a cell per line, and Textual's
    ScrollBar repaints its whole height on every change of position or length: at idle (a line
    a second) that cost about as much as drawing the line. Here those changes repaint only when
    the thumb lands elsewhere, and then only the rows it changed; hover, grab, resize and styles
    repaint as before.
    """

    window_virtual_size: Reactive[int] = Reactive(100, repaint=False)
    window_size: Reactive[int] = Reactive(0, repaint=False)
    position: Reactive[float] = Reactive(0, repaint=False)

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._drawn: tuple[object, ...] | None = None
        self._last: tuple[tuple[object, ...], tuple[object, ...]] | None = None  # (inputs, bar) of the last _bar()

    def _bar(self) -> tuple[object, ...]:
        """What render() would draw, as ScrollBar decides it (colours aside: they repaint anyway)."""
        window = self.window_size if self.window_size < self.window_virtual_size else 0
        size = self.size.height if self.vertical else self.size.width
        inputs = (size, ceil(self.window_virtual_size), ceil(window), self.position, self.thickness, self.vertical)
        if self._last is not None and self._last[0] == inputs:  # a line moves position and length at once
            return self._last[1]
        drawn = self.renderer.render_bar(size=size, virtual_size=inputs[1], window_size=inputs[2],
                                         position=self.position, thickness=self.thickness, vertical=self.vertical)
        bar = (size, *((s.text, s.style) for s in drawn.segments))
        self._last = (inputs, bar)
        return bar

    def repaint_if_moved(self) -> None:
        bar, drawn = self._bar(), self._drawn
        if drawn is None or not self.vertical or len(bar) != len(drawn) or bar[0] != drawn[0]:
            if bar != drawn:
                self.refresh()
            return
        # A thumb moving by an eighth of a cell changes one or two rows: only those are composed
        # and sent to the terminal again, not the bar's every row (each a line of the log's height).
        rows = [y for y, (new, old) in enumerate(zip(bar[1:], drawn[1:])) if new != old]
        if rows:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in rows))

    def watch_window_virtual_size(self) -> None:
        self.repaint_if_moved()

    def watch_window_size(self) -> None:
        self.repaint_if_moved()

    def watch_position(self) -> None:
        self.repaint_if_moved()

    def render(self) -> RenderableType:
        self._drawn = self._bar()
        return super().render()
