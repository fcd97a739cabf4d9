"""The projects screen: every Compose project on the engine(s), kept current by engine events.

Shown when the TUI starts outside any project folder (no compose file, no `-p`). Enter opens
the selected project in the same app (ui.switch); the project's screen comes back here with `p`.
One row per project and engine: services, running / healthy / stale counts and a stale badge
naming the stranded services. Each engine's events (state changes only) trigger a new listing of
the projects they name, a few milliseconds each; nothing polls. While a project is open the
events are still read (cheap) but the listings wait until the screen is shown again.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from stacktui.core.sanitize import printable
from stacktui.ui.projectlist import ProjectsList
from stacktui.ui.projectwatch import EngineProjects, Rows

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import Endpoint
    from stacktui.core.ops.projects import ProjectSummary

Early = tuple[Callable[[], "Engine"], Callable[[], "list[ProjectSummary] | None"]]

COLUMNS = [("project", "project"), ("engine", "engine"), ("services", "services"), ("running", "running"),
           ("healthy", "healthy"), ("stale", "stale"), ("badge", "")]


@dataclass(frozen=True)
class Choice:
    """The project picked on the screen, and the engine it lives on (already connected)."""

    endpoint: "Endpoint"
    engine: "Engine"
    project: str


def _cells(p: "ProjectSummary") -> list[Text]:
    running_style = "green" if p.running == len(p.services) else "yellow"
    return [
        Text(printable(p.project), style="bold"),
        Text(printable(p.engine), style="dim"),
        Text(str(len(p.services))),
        Text(f"{p.running}/{len(p.services)}", style=running_style),
        Text.assemble((str(p.healthy), "green" if p.healthy + p.unchecked == p.running else "yellow"),
                      (f" +{p.unchecked} no healthcheck" if p.unchecked else "", "dim")),
        Text(str(p.stale), style="bold magenta" if p.stale else "dim"),
        Text(f"\u26a0 stale: {printable(', '.join(p.stale_services))}", style="bold magenta") if p.stale else Text(""),
    ]


class ProjectsScreen(Screen[None]):
    """Every project; Enter calls `on_open` with the choice (the app opens it and hides this screen)."""

    BINDINGS = [
        Binding("enter", "open", "open", id="open", tooltip="open the selected project"),
        Binding("q", "quit", "quit", id="quit", tooltip="quit"),
    ]
    DEFAULT_CSS = "ProjectsScreen #projects-topbar { height: 1; background: $panel; }"

    def __init__(self, endpoints: list["Endpoint"], connect: Callable[["Endpoint"], "Engine"],
                 on_open: Callable[[Choice], None], *, engines: dict[int, "Engine"] | None = None,
                 selected: str | None = None, early: Mapping[int, "Early"] | None = None) -> None:
        super().__init__(id="projects-screen")
        self.endpoints = endpoints
        self._on_open = on_open
        self._connect = connect
        # `early`: per engine, its connection and first listing, begun by the command while Textual
        # was importing (commands/tui.py): each call waits for its answer; the listing is None when it failed.
        self.engines: dict[int, "Engine"] = dict(engines or {})
        self.rows: dict[str, tuple[int, "ProjectSummary"]] = {}
        self.errors: dict[int, str] = {}
        self.updates = 0  # listings drawn: tests and the bench wait on it
        self._selected = selected
        self._shown = threading.Event()  # listings wait while a project's screen is in front
        self._topbar: Text | None = None
        self._early = dict(early or {})
        self._watches: list[EngineProjects] = []  # one per engine, from the mount on

    def compose(self) -> ComposeResult:
        yield Static(id="projects-topbar")
        yield ProjectsList([label for _, label in COLUMNS], id="projects")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> ProjectsList:
        return self.query_one(ProjectsList)

    def on_mount(self) -> None:
        self.table.focus()
        self._draw_topbar()
        self._shown.set()
        early, self._early = self._early, {}
        self._watches = [self._watch(i, e, early.get(i)) for i, e in enumerate(self.endpoints)]
        for watch in self._watches:
            watch.start()

    @property
    def listings(self) -> int:
        """Listings asked of the engines (each after a burst of events): the bench counts them."""
        return sum(watch.listings for watch in self._watches)

    def _watch(self, index: int, endpoint: "Endpoint", early: "Early | None") -> EngineProjects:
        known = self.engines.get(index)

        def connect() -> "Engine":
            if known is not None:
                return known
            engine = early[0]() if early is not None else self._connect(endpoint)
            self.engines[index] = engine  # a dict's item set from the loop's thread: read on the UI thread
            return engine

        rows = Rows(self.app, self._show, self._show_some, self._engine_failed, self._shown)
        return EngineProjects(index, endpoint, connect, early[1] if early is not None else None, rows)

    # -- on the UI thread -------------------------------------------------------------------------

    def _engine_failed(self, index: int, message: str) -> None:
        self.errors[index] = message
        self._draw_topbar()

    def _show(self, index: int, listed: list["ProjectSummary"]) -> None:
        """The whole engine's listing: rows of projects that are gone go too."""
        wanted = {p.project: p for p in listed}
        gone = [s.project for i, s in self.rows.values() if i == index and s.project not in wanted]
        self._show_some(index, {**wanted, **dict.fromkeys(gone)})

    def _show_some(self, index: int, summaries: dict[str, "ProjectSummary | None"]) -> None:
        """Rows of these projects of one engine redrawn where they changed; None: the project is gone."""
        self.errors.pop(index, None)
        table = self.table
        wanted = {f"{index}\x00{name}": p for name, p in summaries.items() if p is not None}
        for key in [f"{index}\x00{name}" for name, p in summaries.items() if p is None]:
            if key in self.rows:
                table.remove_row(key)
                del self.rows[key]
        for key, summary in wanted.items():
            known = self.rows.get(key)
            if known is not None and known[1] == summary:
                continue  # most rows: a listing is redrawn only where it changed
            table.set_row(key, _cells(summary))
            self.rows[key] = (index, summary)
        self._move_to_selected()
        self.updates += 1
        self._draw_topbar()

    def _move_to_selected(self) -> None:
        if self._selected is None:
            return
        for key, (_, summary) in self.rows.items():
            if summary.project == self._selected:
                self.table.move_to(key)
                self._selected = None
                break

    def _draw_topbar(self) -> None:
        text = Text("stacktui", style="bold")
        text.append("  projects on ", style="dim")
        text.append(", ".join(printable(e.label) for e in self.endpoints))
        if not self.rows and self.updates:
            text.append("  no Compose projects", style="italic")
        for index, message in sorted(self.errors.items()):
            text.append(f"  {printable(self.endpoints[index].label)}: {printable(message)}", style="bold red")
        if text != self._topbar:  # a listing that changed no row draws no frame for the top bar either
            self._topbar = text
            self.query_one("#projects-topbar", Static).update(text)

    def selected(self) -> tuple[int, "ProjectSummary"] | None:
        key = self.table.cursor_key
        return self.rows.get(key) if key is not None else None

    def row_cells(self, project: str) -> list[str] | None:
        """The row of this project as drawn, a string per column (tests and the bench read it)."""
        for key, (_, summary) in self.rows.items():
            if summary.project == project:
                cells = self.table.cells_of(key)
                return [str(cell) for cell in cells] if cells is not None else None
        return None

    def action_open(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        index, summary = chosen
        engine = self.engines.get(index)
        if engine is None:
            return
        self._on_open(Choice(self.endpoints[index], engine, summary.project))

    def action_quit(self) -> None:
        self.app.exit(0)

    # -- shown, hidden, gone ------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        """Shown again (`p` on a project): the events read meanwhile are listed now."""
        self._shown.set()
        for watch in self._watches:
            watch.wake()
        self.table.focus()

    def on_screen_suspend(self) -> None:
        self._shown.clear()

    def select(self, project: str | None) -> None:
        """Put the cursor on this project's row (the one just left), now or when it is listed."""
        self._selected = project
        self._move_to_selected()

    def stop(self) -> None:
        """Stop following the engines (their event streams close); the engines stay open."""
        for watch in self._watches:
            watch.stop()

    def on_unmount(self) -> None:
        self.stop()

    def close_engines(self) -> None:
        for engine in self.engines.values():
            engine.close()
