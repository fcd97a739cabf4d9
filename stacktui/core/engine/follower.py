"""One follower of an engine's event stream, shared by everyone who listens to that engine.

The watcher of the open project, the healer's fleet and the projects screen all want the
engine's container events. Each subscribes here (`Engine.follower().subscribe`) instead of
opening `/events` itself: one stream per engine, one reconnect policy. A reader thread holds
the stream; a dispatcher thread hands each event to the subscriptions it concerns, in order,
so a slow subscriber delays events but never loses or reorders them.

The stream is filtered on the engine's side to ACTIONS (every exec_* of a healthcheck left
out) and, while every subscription names the same project, to that project's label. When a
subscription needs more (another project, or all of them), the stream is opened again wider.

The policy: after the stream opens, every subscription's `on_open` runs (each lists what it
shows: stream first, then list, so an event between the two is seen twice, never lost); each
event then goes to `on_event`. When the stream ends it is opened again at once, once, without
alarm (a stream may end for reasons of its own); after that each failure is said through
`on_down` (message, seconds until the next try, attempt) and retried with a doubling delay.
A subscription joining an open stream gets its own `on_open` first (or, when it
widens the stream, the `on_open` of the stream opened again for it). A callback that raises
makes the stream open again, so its subscription lists again.
The threads run while there are subscriptions and stop when the last one leaves.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from stacktui.core.loop import Loop, Reporter

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

log = logging.getLogger(__name__)

# What any subscriber needs: the state changes of containers. exec_* (every healthcheck run) and
# attach/resize are left out on the engine's side.
ACTIONS = ["create", "start", "restart", "die", "stop", "kill", "oom", "pause", "unpause", "destroy", "rename",
           "update", "health_status"]
PROJECT_LABEL = "com.docker.compose.project"
BACKOFF = (0.5, 10.0)
Event = Mapping[str, Any]


def _nothing(*_args: Any) -> None:
    return None


@dataclass(eq=False)
class Subscription:
    """What one listener wants: the events of `project` (None: every project), told to its callbacks.
    The callbacks run on the follower's dispatcher thread: keep them short."""

    on_event: Callable[[Event], None]
    project: str | None = None
    on_open: Callable[[], None] = _nothing  # the stream is (re)open: list what you show now
    on_down: Callable[[str, float, int], None] = _nothing  # message, seconds to the next try, attempt
    actions: frozenset[str] | None = None  # only these actions (the part before ":"); None: all of ACTIONS

    def wants(self, event: Event) -> bool:
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        if self.project is not None and attrs.get(PROJECT_LABEL) != self.project:
            return False
        if self.actions is None:
            return True
        action = str(event.get("Action") or event.get("status") or "").partition(":")[0].strip()
        return action in self.actions


class _Run:
    """One spell of following, from the first subscription to the last one's leaving."""

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.stream: Any = None
        self.project: str | None = None  # the filter of the stream now open
        self.reopen = False  # the stream is closed on purpose: open it again, without alarm
        self.reader: Loop | None = None
        self.dispatcher: Loop | None = None


class EventFollower:
    """The engine's event stream, followed once for every subscription."""

    def __init__(self, engine: "Engine", backoff: tuple[float, float] = BACKOFF) -> None:
        self.engine = engine
        self.backoff = backoff
        self.opens = 0  # streams opened (tests and diagnostics)
        self.connected: bool | None = None
        self._subs: list[Subscription] = []
        self._joining: list[Subscription] = []
        self._lock = threading.Lock()
        self._down: tuple[str, float, int] | None = None
        self._run: _Run | None = None
        self._report = Reporter(log, "a subscriber of the engine's events failed")

    # -- subscriptions ----------------------------------------------------------------------------

    def subscribe(self, sub: Subscription) -> Subscription:
        with self._lock:
            run = self._run
            if run is None:
                run = self._run = self._start()
            self._joining.append(sub)
            widen = run.stream is not None and run.project is not None and sub.project != run.project
            run.inbox.put(("join", sub, widen))
        if widen:
            self.reopen()
        return sub

    def unsubscribe(self, sub: Subscription, wait: float = 0.0) -> None:
        """The subscription hears nothing more; the last one out stops the threads (waiting up to `wait`)."""
        with self._lock:
            for subs in (self._subs, self._joining):
                if sub in subs:
                    subs.remove(sub)
            run = self._run
            if self._subs or self._joining or run is None:
                return
            self._run = None
            self.connected, self._down = None, None
        assert run.reader is not None and run.dispatcher is not None
        run.reader.stop(0.0)
        run.dispatcher.stop(0.0)
        run.reader.join(wait)
        run.dispatcher.join(wait)

    def reopen(self) -> None:
        """Close the stream and open it again (every subscription lists again)."""
        with self._lock:
            run = self._run
            if run is None:
                return
            run.reopen = True
        _close(run)

    @property
    def running(self) -> bool:
        return self._run is not None

    # -- the threads --------------------------------------------------------------------------------

    def _start(self) -> _Run:
        run = _Run()
        run.reader = Loop("engine-events", lambda: self._read(run), unblock=lambda: _close(run))
        run.dispatcher = Loop("engine-events-dispatch", lambda: self._dispatch(run),
                              unblock=lambda: run.inbox.put(None))
        run.reader.start()
        run.dispatcher.start()
        return run

    def _wanted_project(self) -> str | None:
        with self._lock:
            projects = {s.project for s in self._subs + self._joining}
        return projects.pop() if len(projects) == 1 else None

    def _read(self, run: _Run) -> None:
        loop = run.reader
        assert loop is not None
        delay, attempt, opened = self.backoff[0], 0, False
        while not loop.stopping:
            try:
                project = self._wanted_project()
                stream = self.engine.events(project, actions=ACTIONS)
                with self._lock:
                    run.stream, run.project, run.reopen = stream, project, False
                if loop.stopping:
                    _close(run)
                    return
                if project is not None and self._wanted_project() != project:
                    _close(run)  # someone who wants more joined while it opened: open it wider
                    continue
                self.opens += 1
                run.inbox.put(("open",))
                delay, attempt, opened = self.backoff[0], 0, True
                for raw in stream:
                    if loop.stopping:
                        return
                    run.inbox.put(("event", raw))
                if loop.stopping:
                    return
                raise ConnectionError("the engine closed the events stream")
            except Exception as exc:  # the engine went away, or answered nonsense: say so, retry
                if loop.stopping:
                    return
                _close(run)
                with self._lock:
                    asked, run.reopen = run.reopen, False
                if asked:
                    continue
                attempt += 1
                if attempt == 1 and opened:
                    loop.pause(0.05)  # a stream can end for reasons of its own: once at once, no alarm
                    continue
                opened = False
                run.inbox.put(("down", describe(exc), delay, attempt))
                loop.pause(delay)
                delay = min(delay * 2, self.backoff[1])

    def _dispatch(self, run: _Run) -> None:
        loop = run.dispatcher
        assert loop is not None
        while not loop.stopping:
            item = run.inbox.get()
            if item is None or loop.stopping:
                return
            try:
                self._handle(item)
            except Exception as exc:  # a subscriber could not take it: it lists again after the reopen
                self._report.failed(exc)
                self.reopen()

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "join":
            sub = item[1]
            with self._lock:
                if sub not in self._joining:
                    return  # left before its turn came
                self._joining.remove(sub)
                self._subs.append(sub)
                connected, down = self.connected, self._down
            if connected and not item[2]:  # a join that widens the stream hears the reopen's on_open
                sub.on_open()
            elif down is not None:
                sub.on_down(*down)
            return
        with self._lock:
            subs = list(self._subs)
        if kind == "event":
            for sub in subs:
                if sub.wants(item[1]):
                    sub.on_event(item[1])
        elif kind == "open":
            with self._lock:
                self.connected, self._down = True, None
            self._report.recovered()
            for sub in subs:
                sub.on_open()
        elif kind == "down":
            with self._lock:
                self.connected, self._down = False, item[1:]
            for sub in subs:
                sub.on_down(*item[1:])


def _close(run: _Run) -> None:
    stream, run.stream = run.stream, None
    if stream is not None:
        try:
            stream.close()
        except Exception as exc:  # closing a stream the engine already dropped
            log.debug("closing the events stream: %s", exc)


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "No such file" in text or "FileNotFoundError" in text:
        return "the engine does not answer"
    return text.splitlines()[0][:200]
