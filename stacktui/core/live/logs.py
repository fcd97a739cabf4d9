"""Following container logs across restarts, into the bounded store: one follower per container.

The wire format and the read loop are the engine's (`engine.logstream`); this
module decides when to (re)attach. A follow stream ends when its container
stops; when the container runs again the follower reattaches with `since=` the
last timestamp it saw, so a restart neither loses nor repeats lines.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.engine.logstream import (MIXED_STREAMS, ContainerGone, EntryDecoder, is_multiplexed, open_logs,
                                            pump)
from stacktui.core.live.store import DEFAULT_HISTORY, LogStore
from stacktui.core.loop import Loop

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

log = logging.getLogger(__name__)

STOPPED_LOOKS = (0.25, 0.5, 1.0, 2.0, 5.0, 30.0)  # seconds between looks at a stopped container


# --- one follower per container ---------------------------------------------------------------

Sink = Callable[[str, list[LogLine]], Any]


class LogFollower:
    """A thread that follows one container's logs into a sink, reattaching after restarts.

    `poke()` says the container (re)started; `stop()` ends it from any thread.
    """

    def __init__(self, engine: "Engine", service: str, container_id: str, sink: Sink, *,
                 history: int | str = DEFAULT_HISTORY, since: int | None = None,
                 backoff: tuple[float, float] = (0.25, 8.0), fast: bool | None = None) -> None:
        self.engine = engine
        self.service = service
        self.container_id = container_id
        self.sink = sink
        self.history = history
        self.since = since
        self.backoff = backoff
        self.socket_path = engine.socket_path if fast is not False else None
        self.decoder = EntryDecoder(service)
        self.attaches = 0  # how many times a stream was opened (tests and diagnostics)
        self.gone = False
        self.tty: bool | None = None
        self._lock = threading.Lock()
        self._closer: Callable[[], None] | None = None
        self.loop = Loop(f"logs-{service}", self._run, unblock=self._close)

    def start(self) -> "LogFollower":
        self.loop.start()
        return self

    def poke(self) -> None:
        self.loop.wake()

    def stop(self, wait: float = 0.0) -> None:
        self.loop.stop(wait)

    def _close(self) -> None:
        with self._lock:
            closer = self._closer
        if closer is not None:
            closer()

    @property
    def alive(self) -> bool:
        return self.loop.alive

    def _run(self) -> None:
        delay = self.backoff[0]
        first = True
        idle = 0  # looks at a stopped container since its stream ended
        while not self.loop.stopping:
            try:
                if not first and not self._running():
                    # Stopped, or between the kill and the start of a restart. The watcher pokes on the
                    # engine's start event; looking again soon after, then rarely, covers a missed poke.
                    self.loop.sleep(STOPPED_LOOKS[min(idle, len(STOPPED_LOOKS) - 1)])
                    idle += 1
                    continue
                idle = 0
                self.loop.sleep(0)  # a poke from before this attach is spent
                self._follow(first)
                first = False
                delay = self.backoff[0]
            except ContainerGone:
                self.gone = True
                return
            except Exception as exc:  # engine away or unreadable: retry with backoff, keep what we have
                if self.loop.stopping:
                    return
                log.debug("logs of %s: %s; retrying in %.1fs", self.service, exc, delay)
                self.loop.pause(delay)
                delay = min(delay * 2, self.backoff[1])

    def _inspect(self) -> dict[str, Any]:
        try:
            raw = self.engine.inspect_raw(self.container_id)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:  # docker-py's NotFound, without importing docker
                raise ContainerGone(str(exc)) from exc
            raise
        self.tty = bool((raw.get("Config") or {}).get("Tty"))
        return raw

    def _running(self) -> bool:
        state = (self._inspect().get("State") or {}).get("Status")
        return state in ("running", "restarting", "paused")

    def _follow(self, first: bool) -> None:
        since = self.since if first else self.decoder.last_key if self.decoder.last_key >= 0 else None
        tail: int | str = self.history if first and since is None else "all"
        if not first:
            self.decoder.reattached()
        if self.tty is None:
            self._inspect()
        if self.socket_path:
            self._follow_socket(since, tail)
        else:
            self._follow_sdk(since, tail)

    def _follow_socket(self, since: int | None, tail: int | str) -> None:
        assert self.socket_path is not None
        sock, body, kind = open_logs(self.socket_path, self.container_id, since=since, tail=tail)

        def close() -> None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        with self._lock:
            self._closer = close
        if self.loop.stopping:
            close()
        self.attaches += 1
        try:
            pump(sock, body, is_multiplexed(bool(self.tty), kind), self.decoder, self._deliver)
        finally:
            with self._lock:
                self._closer = None
            sock.close()

    def _deliver(self, lines: list[LogLine]) -> None:
        self.sink(self.service, lines)

    def _follow_sdk(self, since: int | None, tail: int | str) -> None:
        """Engines that are not on a local unix socket (tcp, ssh): the adapter's stream, same decoding."""
        tty = bool(self.tty)
        stream = self.engine.log_stream(self.container_id, since=since, tail=tail)
        with self._lock:
            self._closer = getattr(stream, "close", None)
        self.attaches += 1
        try:
            for chunk in stream:
                out: list[LogLine] = []
                if tty:
                    self.decoder.raw(chunk, out)
                else:
                    self.decoder.entry(MIXED_STREAMS, chunk, out)
                if out:
                    self.sink(self.service, out)
                if self.loop.stopping:
                    break
            out = []
            self.decoder.flush(out)
            if out:
                self.sink(self.service, out)
        finally:
            with self._lock:
                self._closer = None


# --- every service of a project ------------------------------------------------------------------

MARKERS = {
    "create": "created",
    "start": "started",
    "restart": "restarted",
    "die": "exited",
    "oom": "ran out of memory (OOM)",
    "pause": "paused",
    "unpause": "unpaused",
    "destroy": "removed",
}


def marker_text(action: str, detail: str = "") -> str | None:
    """The inline line for an engine event, or None for events not worth a line."""
    if action.startswith("health_status"):
        word = detail or action.partition(":")[2].strip()
        return f"\u2500\u2500 health: {word} \u2500\u2500"
    known = MARKERS.get(action)
    if known is None:
        return None
    word = known
    if action == "die" and detail:
        word = f"exited (code {detail})"
    return f"\u2500\u2500 container {word} \u2500\u2500"


class LogHub:
    """Follows every service's current container into one LogStore; engine events become marker lines."""

    def __init__(self, engine: "Engine", store: LogStore, *, history: int | str = DEFAULT_HISTORY,
                 fast: bool | None = None, since: int | None = None) -> None:
        self.engine = engine
        self.store = store
        self.history = history
        self.since = since  # engine ns: history from then on (`--log-since 10m`) instead of `history` lines
        self.fast = fast
        self._followers: dict[str, LogFollower] = {}
        self._lock = threading.Lock()
        self._closed = False

    def sync(self, containers: Mapping[str, str | None]) -> None:
        """service -> current container id (None when it has none). Starts and replaces followers."""
        with self._lock:
            if self._closed:
                return
            for service, cid in containers.items():
                current = self._followers.get(service)
                if current is not None and (current.container_id == cid) and not current.gone:
                    continue
                if cid is None:
                    continue  # keep the last container's lines; nothing new to follow
                if current is not None:
                    current.stop()
                self._followers[service] = LogFollower(self.engine, service, cid, self.store.append,
                                                       history=self.history, since=self.since,
                                                       fast=self.fast).start()

    def on_event(self, action: str, service: str, container_id: str, time_ns: int, detail: str = "") -> None:
        """An engine event for a container of this project: a marker line, and a poke on (re)start."""
        text = marker_text(action, detail)
        if text is not None and service:
            self.store.append(service, [LogLine(service, time_ns, text, EVENT)])
        if action in ("start", "restart", "unpause"):
            with self._lock:
                follower = self._followers.get(service)
            if follower is not None and follower.container_id == container_id:
                follower.poke()

    def poke_all(self) -> None:
        """The engine answers again: every follower looks at its container now. Containers the
        engine restarted while it came back up started before anyone could hear of it."""
        with self._lock:
            followers = list(self._followers.values())
        for f in followers:
            f.poke()

    def follower(self, service: str) -> LogFollower | None:
        with self._lock:
            return self._followers.get(service)

    def followed(self) -> dict[str, str]:
        with self._lock:
            return {s: f.container_id for s, f in self._followers.items()}

    def stop(self, wait: float = 1.0) -> None:
        with self._lock:
            self._closed = True
            followers = list(self._followers.values())
            self._followers.clear()
        for f in followers:
            f.stop()
        deadline = time.monotonic() + wait
        for f in followers:
            f.loop.join(max(0.0, deadline - time.monotonic()))
