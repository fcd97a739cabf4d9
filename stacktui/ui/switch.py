"""One app for every project: the projects screen, and a project's screen opened and left within it.

`stacktui` outside any project folder runs a SwitchingApp: the projects screen (ui.projects) is
pushed over the app's main screen. In a project folder it runs one too, with that project's screen
first; `p` shows the projects screen there as well, that project's row selected. Enter hands the
chosen project's loader (from commands/tui.py: Compose's config and a first listing, on the engine
the projects screen already connected) to the same loading path a project's app starts with, and
shows the main screen, widgets made anew. `p` stops the project's core objects (watcher, log
followers, resource monitor: their threads end and their streams close) and brings the projects
screen back, rows as they were and listed again from the events read meanwhile. Nothing is torn down
but the project: the terminal, Textual's driver and the engines stay, which is what made two apps
one after another cost 0.35 s a switch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Unpack

from textual.app import ComposeResult
from textual.compose import compose

from stacktui.core.errors import StackError
from stacktui.core.live.stack import LiveStack
from stacktui.core.live.store import LogStore
from stacktui.ui.app import AppOptions, Loaded, StackApp
from stacktui.ui.background import job

if TYPE_CHECKING:
    from stacktui.ui.projects import Choice, Early, ProjectsScreen
    from stacktui.core.compose.model import Project
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import Endpoint



@dataclass
class Opening:
    """What the command gives the app to open a project: a loader already running in the background
    (called, it returns project, engine, target and the first listing), how to read the files again,
    the engine's name for the header."""

    loader: Callable[[], Loaded]
    reload: Callable[[], "Project"] | None
    engine_label: str


def _no_project() -> Loaded:
    raise AssertionError("the projects screen opens a project")


class SwitchingApp(StackApp):
    """StackApp with the projects screen in front until a project is opened, and again on `p`."""

    def __init__(self, endpoints: list["Endpoint"], connect: Callable[["Endpoint"], "Engine"],
                 opener: Callable[["Choice"], Opening], early: "Mapping[int, Early] | None" = None,
                 first: Callable[[], Loaded] | None = None, **options: Unpack[AppOptions]) -> None:
        """`first`: the loader of the project of the folder stacktui started in, shown first; without it
        the projects screen is."""
        super().__init__(loader=first or _no_project, **options)
        self.loader = first
        self._opener = opener
        self._screen_args = (endpoints, connect, early)
        self._projects_screen: "ProjectsScreen | None" = None
        self._opening = False
        # Started in a project folder and not left yet: a failure to load it ends the app, as a
        # project's app does, instead of showing the projects screen.
        self._folder_project = first is not None

    def compose(self) -> ComposeResult:
        """Nothing until a project is opened (_open_chosen_project composes its widgets then): the projects
        screen in front is the first frame, and the main screen's widgets, unseen under it, would
        only add their mounting to its cost."""
        if self.loader is not None:
            yield from super().compose()

    # -- the projects screen ----------------------------------------------------------------------

    @property
    def projects_screen(self) -> "ProjectsScreen":
        """Made when first shown: in a project folder, maybe never (its module is not imported then)."""
        if self._projects_screen is None:
            from stacktui.ui.projects import ProjectsScreen

            endpoints, connect, early = self._screen_args
            self._projects_screen = ProjectsScreen(endpoints, connect, self.open_project, early=early)
        return self._projects_screen

    def _begin_loading(self) -> None:
        if self.loader is not None:
            super()._begin_loading()
            return
        self._install_projects()
        self.push_screen("projects")
        self.call_after_refresh(self.tuning.started)  # the collector back on (`stacktui` starts without it)

    def _install_projects(self) -> None:
        if not self.is_screen_installed("projects"):
            self.install_screen(self.projects_screen, name="projects")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The project's keys do nothing while the projects screen is in front (it has its own)."""
        if self._projects_screen is not None and self.screen is self._projects_screen and action != "quit":
            return False
        return super().check_action(action, parameters)

    def action_projects(self) -> None:
        if self.busy is not None:
            self.notify(f"{self.busy} is running: back to the projects when it ends", severity="warning")
            return
        left = self.project.name if self.project is not None else None
        self._leave_project()
        self._install_projects()
        self.projects_screen.select(left)
        self.push_screen("projects")

    # -- opening and leaving a project ----------------------------------------------------------------

    def open_project(self, choice: "Choice") -> None:
        if self._opening:
            return
        try:
            opening = self._opener(choice)  # Compose and the first listing start now, in their threads
        except StackError as error:  # the labels name no usable project: said, and the list stays
            self.notify(str(error), title="could not open the project", severity="error", timeout=10)
            return
        self._opening = True
        self.loader, self.reload, self.engine_label = opening.loader, opening.reload, opening.engine_label
        self._open_chosen_project()

    @job("could not open the project", project=False, thread=False)
    async def _open_chosen_project(self) -> None:
        try:
            main = self.main_screen
            with self.batch_update():
                # The main screen's widgets made anew: no filter, search or row of the last project.
                await main.query("*").exclude(".-textual-system").remove()
                await main.mount_all(compose(self))
                await self.pop_screen()
                self.table.focus()
                self.draw_topbar()
                self.pane.update_title()
                # A reading the last project's resource monitor posted while stopping is not this one's.
                self.everyday.figures_pending = None
                super()._begin_loading()
        finally:
            self._opening = False

    def _load_failed(self, error: BaseException) -> None:
        """The project did not load (its files went, the engine stopped answering): said, and back."""
        if self._folder_project:  # the folder's own project: the message once the screen is restored
            super()._load_failed(error)
            return
        self.notify(str(error) or type(error).__name__, title="could not open the project", severity="error",
                    timeout=10)
        self._leave_project()
        if self.screen is not self.projects_screen:
            self.push_screen("projects")

    def _leave_project(self) -> None:
        """Stop everything the project runs (threads end on their own, streams closed now) and forget it."""
        self._folder_project = False
        self.jobs.cancel_project()
        self.heal.leave()
        old = self.live_stack
        old.subscribe()  # a snapshot its watcher publishes while ending reaches no screen
        old.stop(wait=0)  # not waited for on the event loop: the threads end on their own, soon
        self.everyday.forget_figures()
        self.feed.cancel_check()
        self.live_stack = LiveStack(LogStore(max_lines=old.store.max_lines), history=old.history,
                                    probe_interval=old.probe_interval, since=old.since)
        self.project = self.engine = self.target = self.actions = None
        self.loader = self.reload = None
        self.engine_version = ""
        self.snapshot = self.connection = None
        self.findings = []
        self.busy = None
        self.load_error = None
        self.first_rows_at = None
        self.files.forget()

    def on_unmount(self) -> None:
        if self._projects_screen is not None:
            self._projects_screen.stop()
            self._projects_screen.close_engines()
