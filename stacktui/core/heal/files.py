"""The compose files a watcher works from: read again when they change, and a refusal said, not acted on.

A file stacktui refuses to read (an alias bomb over core.compose.aliases'
budget, a YAML or Compose error) gives one `refused` event with its file, line
and reason. Nothing is done to that project while its files are refused: its
healer stops acting (or, refused from the start, is not made), and the watcher
goes on with the other projects. The files are looked at again every
FILES_POLL seconds (a stat: cheap); once they read, healing resumes with the
new model.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.discovery import normalize_name
from stacktui.core.compose.filestamp import files_stamp
from stacktui.core.compose.model import Project
from stacktui.core.errors import StackError
from stacktui.core.heal import events as ev
from stacktui.core.heal.events import HealEvent
from stacktui.core.loop import Loop

if TYPE_CHECKING:
    from stacktui.core.heal.healer import ProjectHealer

FILES_POLL = 2.0


def target_name(target: ComposeTarget) -> str:
    """The project's name when its files cannot be read: -p, else the folder's, as Compose derives it."""
    if target.project_name:
        return target.project_name
    folder = target.project_directory or (target.files[0].parent if target.files else None)
    return normalize_name(folder.name) if folder is not None else ""


def refused(project: str, error: StackError) -> HealEvent:
    reason = error.message + (f" ({error.hint})" if error.hint else "") + "; nothing is done to this project " \
        "until the file reads again"
    where = error.where
    return HealEvent(ev.REFUSED, project, reason=reason, file=str(where.file) if where else None,
                     line=where.line if where else None)


class WatchedFiles:
    """The files of one target and the stamp of the version last read."""

    def __init__(self, target: ComposeTarget, load: Callable[[ComposeTarget], Project] | None = None) -> None:
        from stacktui.core.loader import load_project

        self.target = target
        self.load = load or load_project
        self.stamp = files_stamp(target.files)

    def read(self) -> Project:
        """Read now (raises StackError); the stamp is the one from before the read, so a write
        during the read is seen by the next poll."""
        self.stamp = files_stamp(self.target.files)
        return self.load(self.target)

    def poll(self) -> Project | StackError | None:
        """None when unchanged since the last read; else the new model, or why it was refused."""
        if files_stamp(self.target.files) == self.stamp:
            return None
        try:
            return self.read()
        except StackError as exc:
            return exc


class AwaitingFix:
    """A project refused from the start: polls its files and makes its healer once they read.

    Stands in for the healer meanwhile (start, stop, join), so `watch` and the fleet treat both alike.
    """

    def __init__(self, files: WatchedFiles, make: Callable[[Project, ComposeTarget, WatchedFiles], "ProjectHealer"],
                 emit: Callable[[HealEvent], None], *, stop: threading.Event, poll: float = FILES_POLL) -> None:
        self.files = files
        self.make = make
        self.emit = emit
        self.stop_event = stop
        self.poll = poll
        self.healer: "ProjectHealer | None" = None
        self._loop = Loop("heal-refused", self._wait, stop=stop)

    def start(self) -> "AwaitingFix":
        self._loop.start()
        return self

    def _wait(self) -> None:
        while not self._loop.pause(self.poll):
            got = self.files.poll()
            if isinstance(got, StackError):  # changed, still refused: the new reason
                self.emit(refused(target_name(self.files.target), got))
            elif got is not None:
                self.healer = self.make(got, self.files.target, self.files).start()
                return

    def stop(self) -> None:
        self.stop_event.set()
        if self.healer is not None:
            self.healer.stop()

    def join(self, timeout: float | None = None) -> None:
        self._loop.join(timeout)
        if self.healer is not None:
            self.healer.join(timeout)

    @property
    def alive(self) -> bool:
        return self._loop.alive or (self.healer is not None and self.healer.alive)


def first_read(files: WatchedFiles, emit: Callable[[HealEvent], None]) -> Any:
    """The model, or None after saying why the files are refused."""
    try:
        return files.read()
    except StackError as exc:
        emit(refused(target_name(files.target), exc))
        return None
