"""The floor of any Textual app here: a bare App with one 4-row DataTable, nothing else.

bench_startup starts it through tmux exactly as it starts stacktui (`python -m bench.bare_table
NAME...`) and reads its screen with the same "populated table" test: each row is a name and
"running", as stacktui's rows are. No engine, no Compose, no CSS of its own: what is left is
the interpreter, Textual's import and its first layout and frame.
"""
from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable

ROWS = 4


def rows(names: list[str]) -> list[tuple[str, str, str, str]]:
    """The services named, padded (or cut) to ROWS rows, each running, as stacktui draws them."""
    names = (names + [f"extra{i}" for i in range(1, ROWS + 1)])[:ROWS]
    return [(name, "running", "healthy", "") for name in names]


class BareTable(App[None]):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        yield DataTable(id="services", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("service", "state", "health", "ports")
        table.add_rows(rows(self.names))


if __name__ == "__main__":
    BareTable(sys.argv[1:]).run()
