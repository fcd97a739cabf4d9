"""A table of keyed rows of one-line Text cells, drawn line by line, each cell rendered once.

Not a DataTable: a DataTable's cell change bumps a counter every cached render of the table is
keyed on, so one figure moving from 0.3% to 0.4% rendered every cell of every row on screen again
(the projects screen measured 376-452 ms per such refresh). Here a written cell drops its own
render and repaints its own region; every line is drawn again only when a column must widen.
It draws as a DataTable with a row cursor does (the same CSS values, padding and cursor colours),
so the screen looks the same.
"""
from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip

PADDING = 1  # cells each side of a cell's text, as DataTable's cell_padding


class RowTable(ScrollView, can_focus=True):
    """Rows keyed by a string, columns by a string; a header line on top that does not scroll."""

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .rowtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .rowtable--header { background-tint: $foreground 5%; }
        }
        & > .rowtable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .rowtable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .rowtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"rowtable--cursor", "rowtable--header"}
    BINDINGS = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor(-1)", "Cursor up", show=False),
        Binding("down", "cursor(1)", "Cursor down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "cursor(-1000000)", "Top", show=False),
        Binding("end,ctrl+end", "cursor(1000000)", "Bottom", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    class RowSelected(Message):
        """Enter, or a click on the row under the cursor."""

        def __init__(self, table: "RowTable", row_key: str) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key

        @property
        def control(self) -> "RowTable":
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.column_keys: list[str] = []
        self.labels: dict[str, Text] = {}
        self.widths: dict[str, int] = {}  # content width of each column, in cells: only grows until clear()
        self.rows: dict[str, dict[str, Text]] = {}  # in display order
        self.row_keys: list[str] = []
        self.cursor_row = 0
        self.cells_rendered = 0  # cells rendered since mount: tests check a write renders only its cell
        self.layouts = 0  # times a column grew and every line was drawn again
        self._renders: dict[tuple[str | None, str, bool], list[Segment]] = {}
        self._render_state: object = None  # what every cached render was made under (focus, theme)

    # -- the model ----------------------------------------------------------------------------------

    def add_column(self, label: str, key: str) -> None:
        self.column_keys.append(key)
        self.labels[key] = Text(label)
        self.widths[key] = Text(label).cell_len
        self._resized()

    def add_row(self, *cells: Text, key: str) -> None:
        self.rows[key] = dict(zip(self.column_keys, cells))
        self.row_keys.append(key)
        grew = self._grow(self.rows[key].items())
        self._resized()
        if not grew:
            self.refresh_row(len(self.row_keys) - 1)

    def remove_row(self, key: str) -> None:
        if key not in self.rows:
            return
        del self.rows[key]
        self.row_keys.remove(key)
        self._forget_row(key)
        self.cursor_row = max(0, min(self.cursor_row, len(self.row_keys) - 1))
        self._resized()
        self.refresh()

    def clear(self) -> None:
        """No rows; the columns as wide as their labels again."""
        self.rows = {}
        self.row_keys = []
        self._renders = {k: v for k, v in self._renders.items() if k[0] is None}
        self.widths = {key: label.cell_len for key, label in self.labels.items()}
        self.cursor_row = 0
        self._resized()
        self.refresh()

    def write_cells(self, changed: Iterable[tuple[str, str, Text]]) -> None:
        """Write cells in place: each drops its own render and repaints its own region; if one is
        wider than its column, the column grows and every line is drawn again (a layout)."""
        written = []
        for key, column, cell in changed:
            row = self.rows.get(key)
            if row is None:
                continue
            row[column] = cell
            self._renders.pop((key, column, False), None)
            self._renders.pop((key, column, True), None)
            written.append((key, column))
        if not written:
            return
        if self._grow(((column, self.rows[key][column]) for key, column in written)):
            return
        index = {key: i for i, key in enumerate(self.row_keys)} if len(written) > 1 else None
        for key, column in written:
            at = index[key] if index is not None else self.row_keys.index(key)
            self._refresh_cell(at, column)

    def get_row_at(self, index: int) -> list[Text]:
        return list(self.rows[self.row_keys[index]].values())

    @property
    def row_count(self) -> int:
        return len(self.row_keys)

    @property
    def cursor_key(self) -> str | None:
        return self.row_keys[self.cursor_row] if self.row_keys else None

    def column_width(self, column: str) -> int:
        """The widest cell of the column so far (its label included), in cells."""
        return self.widths.get(column, 0)

    def _grow(self, cells: Iterable[tuple[str, Text]]) -> bool:
        grew = False
        for column, cell in cells:
            if cell.cell_len > self.widths.get(column, 0):
                self.widths[column] = cell.cell_len
                grew = True
        if grew:
            self.layouts += 1
            self._renders.clear()
            self._resized()
            self.refresh()
        return grew

    def _forget_row(self, key: str) -> None:
        for column in self.column_keys:
            self._renders.pop((key, column, False), None)
            self._renders.pop((key, column, True), None)

    def _resized(self) -> None:
        size = Size(sum(w + 2 * PADDING for w in self.widths.values()), len(self.row_keys) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    # -- the cursor ---------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.row_keys:
            return
        row = max(0, min(row, len(self.row_keys) - 1))
        if row != self.cursor_row:
            old, self.cursor_row = self.cursor_row, row
            self.refresh_row(old)
            self.refresh_row(row)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        shown = max(1, self.size.height - 1)  # rows under the header
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_select_cursor(self) -> None:
        if self.row_keys:
            self.post_message(self.RowSelected(self, self.row_keys[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        row = int(self.scroll_offset.y) + event.y - 1
        if not 0 <= row < len(self.row_keys):
            return
        if row == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    # -- drawing ------------------------------------------------------------------------------------

    def refresh_row(self, index: int) -> None:
        """Repaint the row at this index where it is on screen."""
        y = index + 1 - int(self.scroll_offset.y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _refresh_cell(self, index: int, column: str) -> None:
        y = index + 1 - int(self.scroll_offset.y)
        if not 1 <= y < self.size.height:
            return  # off screen: drawn from its data when scrolled to
        x = -int(self.scroll_offset.x)
        for key in self.column_keys:
            width = self.widths[key] + 2 * PADDING
            if key == column:
                region = Region(x, y, width, 1).intersection(Region(0, 0, self.size.width, self.size.height))
                if region.area:
                    self.refresh(region)
                return
            x += width

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._renders.clear()

    def render_line(self, y: int) -> Strip:
        state = (self.get_pseudo_class_state(), self.app.current_theme.name)
        if state != self._render_state:  # focus or theme changed: every cell's colours may have
            self._render_state = state
            self._renders.clear()
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            key, cursor = None, False
            row_style = self.get_component_rich_style("rowtable--header")
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self.row_keys):
                return Strip.blank(width, base)
            key, cursor = self.row_keys[index], index == self.cursor_row
            row_style = base
        segments: list[Segment] = []
        for column in self.column_keys:
            segments += self._cell(key, column, row_style, cursor)
        extend = row_style + self.get_component_rich_style("rowtable--cursor") if cursor else row_style
        table_width = sum(w + 2 * PADDING for w in self.widths.values())
        segments.append(Segment(" " * max(0, width - table_width), extend))
        return Strip(segments).crop(int(scroll_x), int(scroll_x) + width).adjust_cell_length(width, base).simplify()

    def _cell(self, key: str | None, column: str, row_style: Style, cursor: bool) -> list[Segment]:
        """One cell's segments, padded to its column (key None: the header's)."""
        found = self._renders.get((key, column, cursor))
        if found is not None:
            return found
        self.cells_rendered += 1
        cell = self.labels[column] if key is None else self.rows[key][column]
        pre, post = row_style, Style.null()
        if cursor:
            cursor_style = self.get_component_rich_style("rowtable--cursor")
            pre = row_style + cursor_style
            post = Style.from_color(color=cursor_style.color)  # the cursor's colour over the cell's, as DataTable's
        console: Console = self.app.console
        options = self.app.console_options.update_dimensions(self.widths[column] + 2 * PADDING, 1).update(no_wrap=True)
        lines = console.render_lines(Styled(Padding(cell, (0, PADDING)), pre_style=pre, post_style=post), options)
        segments = lines[0] if lines else []
        self._renders[(key, column, cursor)] = segments
        return segments
