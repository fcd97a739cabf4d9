"""`--all-projects`: one ProjectHealer per Compose project on the engine, each with its own lock.

Projects are found from container labels at start, and from the engine's
`start` events afterwards (a stack brought up later is watched from then on).
A project whose compose files are still where its labels say is loaded from
them (probe URLs and recreates need them), and read again when they change; a
file stacktui refuses is reported (`refused`) and nothing is done to that
project until it reads again. Without its files it is attached from the labels
alone.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.engine.client import FILES_LABEL, ONEOFF_LABEL, PROJECT_LABEL, WORKDIR_LABEL, Engine
from stacktui.core.engine.follower import Subscription
from stacktui.core.heal import events as ev
from stacktui.core.heal.events import HealEvent
from stacktui.core.heal.files import AwaitingFix, WatchedFiles, first_read
from stacktui.core.heal.healer import ProjectHealer
from stacktui.core.loop import Loop, Reporter

log = logging.getLogger(__name__)


def project_names(engine: Engine) -> list[str]:
    names = {(s.get("Labels") or {}).get(PROJECT_LABEL, "") for s in engine.containers_by_label(PROJECT_LABEL)
             if (s.get("Labels") or {}).get(ONEOFF_LABEL) != "True"}
    return sorted(n for n in names if n)


def files_target(engine: Engine, name: str) -> ComposeTarget | None:
    """The target of the files the project's labels name, when they are all here; else None."""
    from stacktui.core.compose.discovery import resolve_target

    found = [s for s in engine.containers_by_label(f"{PROJECT_LABEL}={name}")]
    labels = (found[0].get("Labels") or {}) if found else {}
    files = [f for f in labels.get(FILES_LABEL, "").split(",") if f]
    workdir = labels.get(WORKDIR_LABEL) or None
    if files and all(Path(f).is_file() for f in files):
        return resolve_target(files, name, workdir, cwd=Path(workdir) if workdir else None)
    return None


class Fleet:
    """Healers for every project, plus a loop that adds the projects started later.

    The engine's `start` events come from its one follower (core.engine.follower); a name is
    handed to the fleet's own loop, since loading a project (Compose's `config`) takes a while
    and the follower's thread must not wait for it. Each time the stream opens again, the
    projects are listed once: one may have started while the engine was away.
    """

    def __init__(self, engine: Engine, emit: Callable[[HealEvent], None], *, stop: threading.Event,
                 make: Callable[..., ProjectHealer]) -> None:
        self.engine = engine
        self.emit = emit
        self.stop_event = stop
        self.make = make
        self.healers: dict[str, ProjectHealer | AwaitingFix] = {}
        self._lock = threading.Lock()
        self._found: list[str | None] = []  # names to add; None: list the engine's projects
        self._sub: Subscription | None = None
        self.opened = False  # the engine's stream was open once: a later open follows an absence
        self._loop = Loop("heal-discover", self._discover, stop=stop)
        self._report = Reporter(log, "looking for new projects")

    def start(self) -> "Fleet":
        for name in project_names(self.engine):
            self.add(name)
        self._loop.start()
        self._sub = self.engine.follower().subscribe(Subscription(self._on_start, None, on_open=self._on_open,
                                                                  actions=frozenset({"start"})))
        return self

    def _on_start(self, raw: Mapping[str, Any]) -> None:
        attrs = ((raw.get("Actor") or {}).get("Attributes") or {})
        name = attrs.get(PROJECT_LABEL)
        if name and attrs.get(ONEOFF_LABEL) != "True" and name not in self.healers:
            self._hand(name)

    def _on_open(self) -> None:
        if self.opened:
            self._hand(None)  # back after the engine was away: list, a project may have started meanwhile
        self.opened = True

    def _hand(self, name: str | None) -> None:
        with self._lock:
            self._found.append(name)
        self._loop.wake()

    def add(self, name: str) -> None:
        with self._lock:
            if name in self.healers or self.stop_event.is_set():
                return
            try:
                target = files_target(self.engine, name)
                if target is None:  # no files here: attached from the labels (heals in place only)
                    from stacktui.core.loader import attach_project

                    self.healers[name] = self.make(attach_project(self.engine, name), None).start()
                    return
            except Exception as exc:  # one broken project must not keep the others unwatched
                self.emit(HealEvent(ev.FINDING, name, reason=f"not watched: {exc}"))
                return
            # Files stacktui refuses are said and waited for: nothing is done to that project meanwhile.
            files = WatchedFiles(target)
            project = first_read(files, self.emit)
            self.healers[name] = (self.make(project, target, files) if project is not None
                                  else AwaitingFix(files, self.make, self.emit, stop=self.stop_event)).start()

    def _discover(self) -> None:
        while not self._loop.sleep(1.0):  # the stop event is shared: a stop set elsewhere ends it too
            with self._lock:
                found, self._found = self._found, []
            try:
                for name in found:
                    for each in (project_names(self.engine) if name is None else [name]):
                        self.add(each)
                self._report.recovered()
            except Exception as exc:  # the engine went away again: the healers say so; the next open lists
                self._report.failed(exc)

    def stop(self) -> None:
        self.stop_event.set()
        self._loop.wake()
        sub, self._sub = self._sub, None
        if sub is not None:
            self.engine.follower().unsubscribe(sub)
        for h in list(self.healers.values()):
            h.stop()

    def join(self, timeout: float = 120.0) -> None:
        for h in list(self.healers.values()):
            h.join(timeout)
        self._loop.join(2.0)
