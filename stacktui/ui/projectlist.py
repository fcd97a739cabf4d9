"""The projects screen's list: one one-line widget per project, under a header, with a row cursor.

Not a DataTable: a DataTable's cell change invalidates the drawing of every visible row (its
caches are keyed by one update counter), so on 51 projects one changed count re-rendered some 400
cells, most of the event-to-frame delay (profiled: 10 of 12 s of CPU over 20 updates under load).
Here a changed project redraws its own line; all lines are drawn again only when a column must
widen (a longer name or a new engine), which is rare.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Click
from textual.widgets import Static

GAP = 2  # spaces between columns


def _line(cells: Sequence[Text], widths: Sequence[int]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    last = len(cells) - 1
    for i, (cell, width) in enumerate(zip(cells, widths)):
        text.append_text(cell)
        if i < last:
            text.append(" " * (width - cell.cell_len + GAP))
    return text


def _order(key: str) -> tuple[int, str]:
    """Rows by engine, then name (a key is "ENGINE-INDEX\\0NAME")."""
    index, _, name = key.partition("\x00")
    return int(index), name


class ProjectRow(Static):
    DEFAULT_CSS = """
    ProjectRow { height: 1; width: 1fr; padding: 0 1; }
    ProjectRow.-odd { background: $boost; }
    ProjectRow.-cursor { background: $block-cursor-blurred-background; }
    ProjectsList:focus ProjectRow.-cursor { background: $block-cursor-background;
                                            color: $block-cursor-foreground; text-style: bold; }
    """

    def __init__(self, key: str, cells: list[Text]) -> None:
        super().__init__()
        self.key = key
        self.cells = cells

    def on_click(self, event: Click) -> None:
        if isinstance(self.parent, ProjectsList):
            self.parent.move_to(self.key)


class ProjectsList(VerticalScroll, can_focus=True):
    """Rows keyed by the caller, kept sorted; `cursor_key` is the row under the cursor."""

    DEFAULT_CSS = """
    ProjectsList { height: 1fr; }
    ProjectsList > #projects-header { dock: top; height: 1; padding: 0 1; text-style: bold; background: $panel; }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "cursor(-1000000)", "first", show=False),
        Binding("end", "cursor(1000000)", "last", show=False),
    ]

    def __init__(self, columns: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = [Text(label) for label in columns]
        self.widths = [label.cell_len for label in self.labels]
        self.header = Static(_line(self.labels, self.widths), id="projects-header")
        self._rows: dict[str, ProjectRow] = {}
        self._keys: list[tuple[int, str]] = []  # sorted, as the rows stand
        self.cursor_key: str | None = None
        self._on_top = True  # until the cursor is moved, it stays on the first row, whatever comes above

    def compose(self):
        yield self.header

    # -- rows ---------------------------------------------------------------------------------------

    def cells_of(self, key: str) -> list[Text] | None:
        row = self._rows.get(key)
        return row.cells if row is not None else None

    def set_row(self, key: str, cells: list[Text]) -> None:
        """Add the row, or redraw it where it is; every row is drawn again only if a column widened."""
        widths = [max(w, c.cell_len) for w, c in zip(self.widths, cells)]
        row = self._rows.get(key)
        if row is None:
            row = ProjectRow(key, cells)
            order = _order(key)
            at = bisect_left(self._keys, order)
            before = self._rows.get(self._key_at(at)) if at < len(self._keys) else None
            self._keys.insert(at, order)
            self._rows[key] = row
            if before is not None:
                self.mount(row, before=before)
            else:
                self.mount(row)
            self._restripe(at)
            if self.cursor_key is None or (self._on_top and at == 0):
                self._put_cursor(key)
        row.cells = cells
        if widths != self.widths:
            self.widths = widths
            self.header.update(_line(self.labels, widths))
            for other in self._rows.values():
                other.update(_line(other.cells, widths))
        else:
            row.update(_line(cells, widths))

    def remove_row(self, key: str) -> None:
        row = self._rows.pop(key, None)
        if row is None:
            return
        at = self._keys.index(_order(key))
        del self._keys[at]
        row.remove()
        self._restripe(at)
        if self.cursor_key == key:
            self.cursor_key = None
            if self._keys:
                self._put_cursor(self._key_at(min(at, len(self._keys) - 1)))

    def _key_at(self, at: int) -> str:
        index, name = self._keys[at]
        return f"{index}\x00{name}"

    def _restripe(self, start: int) -> None:
        for at in range(start, len(self._keys)):
            self._rows[self._key_at(at)].set_class(at % 2 == 1, "-odd")

    # -- the cursor ---------------------------------------------------------------------------------

    def move_to(self, key: str) -> None:
        """The cursor on this row (a key, a click, the project just left)."""
        if key in self._rows:
            self._on_top = False
            self._put_cursor(key)

    def _put_cursor(self, key: str) -> None:
        if self.cursor_key is not None and self.cursor_key in self._rows:
            self._rows[self.cursor_key].remove_class("-cursor")
        self.cursor_key = key
        row = self._rows[key]
        row.add_class("-cursor")
        self.call_after_refresh(self.scroll_to_widget, row, animate=False)

    def action_cursor(self, step: int) -> None:
        if not self._keys:
            return
        at = self._keys.index(_order(self.cursor_key)) if self.cursor_key in self._rows else 0
        self.move_to(self._key_at(max(0, min(len(self._keys) - 1, at + step))))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))
