"""The compose files as the app's model: read again when someone edits them, or a change of ours did.

The files' stat is compared once a second with the one the model was read from;
during a restart or layout change this waits (a change prepared on the old text
is refused by core when applied). Reloading runs in a thread worker.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from stacktui.core.compose.filestamp import files_stamp
from stacktui.ui.background import job, release_claim

if TYPE_CHECKING:
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.compose.model import Project
    from stacktui.ui.operations import StackOperations


def reader(target: "ComposeTarget | None") -> Callable[[], "Project"] | None:
    """After a layout change the files are the truth: read them again the way they were found."""
    if target is None or not target.files:
        return None

    def read() -> "Project":
        from stacktui.core.loader import load_project

        return load_project(target)

    return read


class FileWatch:
    """Mixed into StackApp: follows the compose files on disk."""

    def _check_files(self) -> None:
        """Someone edited a compose file: load the project again. During a restart or a layout
        change this waits; a change prepared on the old text is refused by core when applied.
        Once a second, with the uptime tick (ui.app)."""
        project, actions = self.project, self.actions
        if project is None or actions is None or project.read_only or self.busy is not None:
            return
        if self._files_pending is not None:
            return
        stamp = files_stamp(project.files)
        if stamp == self._files_stamp:
            return
        self._files_pending = stamp
        self._reload_changed_files(actions, stamp, ", ".join(Path(f).name for f in project.files))

    def _files_not_reloaded(self) -> None:
        """The reload of edited files failed: keep the last good model; the next edit is tried again."""
        if self._files_pending is not None:
            self._files_stamp, self._files_pending = self._files_pending, None

    def _reload_failed(self, error: BaseException) -> bool:
        self._files_not_reloaded()
        return False

    @job("compose files changed: not reloaded", undo=_reload_failed)
    def _reload_changed_files(self, actions: "StackOperations", stamp: tuple[Any, ...], names: str) -> None:
        if self.target is not None:
            from stacktui.core.compose.cache import forget

            forget(self.target)  # its key would not match now anyway; the entry goes at once
        self.call_from_thread(self._files_reloaded, actions.reload_project(), stamp, names)

    def _files_reloaded(self, project: "Project", stamp: tuple[Any, ...], names: str) -> None:
        self._files_pending = None
        self.notify(f"{names} changed on disk: reloaded", title="compose files")
        self._project_reloaded(project, stamp, end_flow=False)

    def _show_project(self, project: "Project", stamp: tuple[Any, ...] | None = None) -> None:
        """The model to draw from now on (the table's rows, the log pane's services)."""
        if stamp is not None:
            self._files_stamp = stamp
        self.project = project
        self.pane.set_services(list(project.services))
        self.table.placeholder(project.services)

    def _project_reloaded(self, project: "Project", stamp: tuple[Any, ...] | None = None,
                          end_flow: bool = True) -> None:
        if end_flow:
            self.busy = None
        self._show_project(project, stamp)
        if self.live_stack.following:
            self._refresh_after_change(project)

    @job("reload failed", undo=release_claim)
    def _refresh_after_change(self, project: "Project") -> None:
        self.live_stack.set_project(project)
        self.live_stack.refresh()
