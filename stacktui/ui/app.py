"""The stacktui Textual app (a first frame; the full screen is its own issue)."""
from __future__ import annotations

from importlib.resources import files

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header

from stacktui.core.engine import Engine
from stacktui.core.model import Project
from stacktui.core.status import collect

CSS_PATH = str(files("stacktui.assets") / "stacktui.tcss")


class StackApp(App[int]):
    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, project: Project, engine: Engine) -> None:
        super().__init__()
        self.project = project
        self.engine = engine

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="services", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"stacktui: {self.project.name}"
        table = self.query_one(DataTable)
        table.add_columns("service", "state", "health", "namespace")
        self.refresh_table()

    def refresh_table(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in collect(self.project, self.engine.project_containers(self.project.name)):
            owner = f"shares {row.namespace_owner}" if row.namespace_owner else "own"
            table.add_row(Text(row.service), Text(row.state), Text(row.health), Text(owner), key=row.service)
