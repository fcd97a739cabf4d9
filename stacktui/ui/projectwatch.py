"""One engine's projects for the projects screen: listed once, then again where its events name them.

A `core.loop.Loop` per engine: it connects (or waits for the connection the command began while
Textual was importing, and takes its first listing), subscribes to the engine's one event follower, and sleeps
until an event or the screen's return wakes it. Each round lists the projects the events named
since the last one (the whole engine at start, after a broken stream, and once the stream is open
when the rows came from the early listing); while the screen is hidden the events are still read
(cheap) and the listing waits until it is shown again. What it finds goes to the screen's
callbacks on the UI thread.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from stacktui.core.engine.client import PROJECT_LABEL
from stacktui.core.engine.follower import Event, Subscription
from stacktui.core.errors import StackError
from stacktui.core.loop import Loop

if TYPE_CHECKING:
    from textual.app import App

    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import Endpoint
    from stacktui.core.ops.projects import ProjectSummary

log = logging.getLogger(__name__)

# What changes a row: a container appearing, going, starting, stopping, its health.
STATE_ACTIONS = frozenset(["create", "start", "restart", "die", "stop", "kill", "destroy", "pause", "unpause",
                           "health_status"])


@dataclass(frozen=True)
class Rows:
    """The screen's side: where the rows go (called on the UI thread), and whether it is in front."""

    app: "App[int]"
    whole: Callable[[int, "list[ProjectSummary]"], None]  # the engine's every project
    some: Callable[[int, "dict[str, ProjectSummary | None]"], None]  # these projects; None: gone
    failed: Callable[[int, str], None]
    shown: threading.Event  # cleared while a project's screen is in front


class EngineProjects:
    """The rows of one engine's projects, kept current from its events on a Loop of its own."""

    def __init__(self, index: int, endpoint: "Endpoint", connect: Callable[[], "Engine"],
                 first: Callable[[], "list[ProjectSummary] | None"] | None, rows: Rows) -> None:
        """`connect`: the engine (already connected, or connecting); `first`: the listing the command
        began meanwhile (None when it failed, or when there is none)."""
        self.index = index
        self.endpoint = endpoint
        self.listings = 0  # listings asked of the engine (each after a burst of events)
        self._connect = connect
        self._first = first
        self._rows = rows
        self._lock = threading.Lock()
        self._touched: set[str] = set()  # the projects the events named since the last round
        self._everything = True  # the next round lists the whole engine
        self._opened = False
        self._subscribed: tuple["Engine", Subscription] | None = None
        self.loop = Loop(f"projects-{index}", self._run)

    def start(self) -> None:
        self.loop.start()

    def wake(self) -> None:
        """The screen is shown again: the events read meanwhile are listed now."""
        self.loop.wake()

    def stop(self) -> None:
        """Stop following (the engine's stream closes with its last subscriber); the engine stays open.
        Not waited for: a listing under way ends on its own, and posts nothing once stopped."""
        self.loop.stop(wait=0)
        with self._lock:
            subscribed, self._subscribed = self._subscribed, None
        if subscribed is not None:
            engine, sub = subscribed
            engine.follower().unsubscribe(sub)

    # -- on the loop's thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            engine = self._connect()
        except StackError as exc:
            self._post(self._rows.failed, self.index, str(exc))
            return
        first = self._first() if self._first is not None else None
        if first is not None:
            self._post(self._rows.whole, self.index, first)
        self._subscribe(engine, after_early=first is not None)
        if first is None:
            self.loop.wake()
        while not self.loop.sleep(None):
            if self._rows.shown.is_set():
                self._list(engine)

    def _subscribe(self, engine: "Engine", *, after_early: bool) -> None:
        def on_open() -> None:
            # The early listing is older than the stream; after a break, events may have been
            # missed: either way the whole engine is listed again, now.
            with self._lock:
                again = self._opened or after_early
                if again:
                    self._everything = True
                self._opened = True
            if again:
                self.loop.wake()

        sub = Subscription(self._on_event, None, on_open=on_open, actions=STATE_ACTIONS,
                           on_down=lambda message, *_: self._post(self._rows.failed, self.index,
                                                                  f"events: {message}"))
        with self._lock:  # stop() takes the subscription under the lock: it cannot miss this one
            if self.loop.stopping:  # stopped while connecting
                return
            self._subscribed = (engine, sub)
            engine.follower().subscribe(sub)

    def _on_event(self, event: Event) -> None:
        name = ((event.get("Actor") or {}).get("Attributes") or {}).get(PROJECT_LABEL)
        if name:  # a container of no Compose project is on no row
            with self._lock:
                self._touched.add(name)
            self.loop.wake()

    def _list(self, engine: "Engine") -> None:
        """One round. At once, not after a settling delay: listing a project is two inspects (a few
        ms), and the events of a burst (a restart is kill, die, stop, start) that come while it
        runs are listed together next round."""
        from stacktui.core.ops.projects import list_projects, summarize

        with self._lock:
            names, whole = set(self._touched), self._everything
            self._touched.clear()
            self._everything = False
        if not names and not whole:
            return
        self.listings += 1
        try:
            if whole:
                self._post(self._rows.whole, self.index, list_projects(engine, self.endpoint.label))
                return
            # One project's containers, not the engine's: a restart in one of 50 pairs costs 2 inspects.
            some: dict[str, "ProjectSummary | None"] = {}
            for name in names:
                members = engine.project_containers(name)
                some[name] = summarize(engine, self.endpoint.label, name, members) if members else None
            self._post(self._rows.some, self.index, some)
        except Exception as exc:  # shown in the top bar; the next round lists the whole engine
            log.info("projects on %s: %s", self.endpoint.label, exc)
            self._post(self._rows.failed, self.index, str(exc))
            with self._lock:
                self._everything = True

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        if self.loop.stopping:
            return
        try:
            self._rows.app.call_from_thread(fn, *args)
        except RuntimeError as exc:  # NoActiveAppError, or the loop is closed: the app is closing
            log.debug("projects on %s: not shown, the app is closing: %s", self.endpoint.label, exc)
