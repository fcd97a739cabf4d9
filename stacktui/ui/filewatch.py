"""The compose files as the app's model: read again when someone edits them, or a change of ours did.

The files' stat is compared once a second with the one the model was read from;
during a restart or layout change this waits (a change prepared on the old text
is refused by core when applied). Reloading runs in a thread worker.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from stacktui.core.compose.filestamp import FileStamp, files_stamp
from stacktui.ui.background import job
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.compose.model import Project
    from stacktui.ui.app import StackApp
    from stacktui.ui.operations import StackOperations

Stamp = tuple[FileStamp, ...]  # the compose files as they were read


def reader(target: "ComposeTarget | None") -> Callable[[], "Project"] | None:
    """After a layout change the files are the truth: read them again the way they were found."""
    if target is None or not target.files:
        return None

    def read() -> "Project":
        from stacktui.core.loader import load_project

        return load_project(target)

    return read


class FileWatch(Part):
    """Follows the compose files on disk: the model is read again when they change."""

    def __init__(self, app: "StackApp") -> None:
        super().__init__(app)
        self.stamp: Stamp | None = None  # the compose files as the model was loaded from them
        self.pending: Stamp | None = None  # a reload of changed files is running

    def loaded(self, project: "Project") -> None:
        self.stamp = files_stamp(project.files)

    def forget(self) -> None:
        self.stamp = self.pending = None

    def check(self) -> None:
        """Someone edited a compose file: load the project again. During a restart or a layout
        change this waits; a change prepared on the old text is refused by core when applied.
        Once a second, with the uptime tick (ui.app)."""
        app = self.app
        project, actions = app.project, app.actions
        if project is None or actions is None or project.read_only or app.busy is not None:
            return
        if self.pending is not None:
            return
        stamp = files_stamp(project.files)
        if stamp == self.stamp:
            return
        self.pending = stamp
        self._reload_changed(actions, stamp, ", ".join(Path(f).name for f in project.files))

    def _reload_failed(self, error: BaseException) -> bool:
        """The reload of edited files failed: keep the last good model; the next edit is tried again."""
        if self.pending is not None:
            self.stamp, self.pending = self.pending, None
        return False

    @job("compose files changed: not reloaded", undo=_reload_failed)
    def _reload_changed(self, actions: "StackOperations", stamp: Stamp, names: str) -> None:
        target = self.app.target
        if target is not None:
            from stacktui.core.compose.cache import forget

            forget(target)  # its key would not match now anyway; the entry goes at once
        self.app.call_from_thread(self._reloaded, actions.reload_project(), stamp, names)

    def _reloaded(self, project: "Project", stamp: Stamp, names: str) -> None:
        self.pending = None
        self.app.notify(f"{names} changed on disk: reloaded", title="compose files")
        self.project_reloaded(project, stamp, end_flow=False)

    def show_project(self, project: "Project", stamp: Stamp | None = None) -> None:
        """The model to draw from now on (the table's rows, the log pane's services)."""
        app = self.app
        if stamp is not None:
            self.stamp = stamp
        app.project = project
        app.pane.set_services(list(project.services))
        app.table.placeholder(project.services)

    def project_reloaded(self, project: "Project", stamp: Stamp | None = None, end_flow: bool = True) -> None:
        if end_flow:
            self.app.busy = None
        self.show_project(project, stamp)
        if self.app.live_stack.following:
            self._refresh_after_change(project)

    def _release_claim(self, error: BaseException) -> bool:
        self.app.busy = None
        return False

    @job("reload failed", undo=_release_claim)
    def _refresh_after_change(self, project: "Project") -> None:
        live_stack = self.app.live_stack
        live_stack.set_project(project)
        live_stack.refresh()
