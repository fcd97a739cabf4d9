"""The running stack as one screen sees it: the watcher, the log followers and their store, wired here.

A screen (or anything else that shows a project live) makes one LiveStack,
subscribes to it once (snapshots, connection changes, "log lines are waiting")
and drives it with attach/start/stop/set_project/refresh. Engine events reach
the log followers here; the screen never relays between core objects.

While a change of the screen's own runs (a restart plan, a layout change), the
services it touches are *held*: their rows go on showing what the engine says
(down, starting, healthy) but not the alarms the change causes in passing, a
stale namespace while model and containers are between two layouts, or an
unhealthy verdict from a probe routed through a port that is moving. Those show
as "starting" (not passed its checks yet), with the hold as the first reason; the
hold ends with the change, after a fresh listing and probe, so the first row
shown without it is the state after the change.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Iterable

from stacktui.core.compose.model import Project
from stacktui.core.health.status import STALE, STARTING, UNHEALTHY, ServiceStatus
from stacktui.core.live.logtools import since_ns
from stacktui.core.live.store import DEFAULT_HISTORY, LogStore
from stacktui.core.live.watcher import DEFAULT_PROBE_INTERVAL, Connection, EngineEvent, Snapshot, Watcher

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine
    from stacktui.core.live.logs import LogHub

HELD_REASON = "being changed by stacktui: checked again when the change ends"


def held_row(row: ServiceStatus) -> ServiceStatus:
    """A row of a service under change: its state as it is, an alarm of the change as "starting"."""
    if not row.stale and row.health not in (STALE, UNHEALTHY):
        return row
    return replace(row, health=STARTING, stale=False, stale_reason=None, reasons=[HELD_REASON, *row.reasons])


class LiveStack:
    """Owns a project's Watcher, LogHub and LogStore; publishes to one subscriber.

    Callbacks run on core threads (the watcher's, the log readers'): keep them short.
    """

    def __init__(self, store: LogStore | None = None, *, history: int | str = DEFAULT_HISTORY,
                 probe_interval: float | None = DEFAULT_PROBE_INTERVAL, since: str | None = None) -> None:
        self.store = store if store is not None else LogStore()
        self.history = history
        self.since = since  # "10m": each container's history from then on instead of `history` lines
        self.probe_interval = probe_interval
        self.watcher: Watcher | None = None
        self.hub: LogHub | None = None
        self._on_snapshot: Callable[[Snapshot], None] | None = None
        self._on_connection: Callable[[Connection], None] | None = None
        self._held: frozenset[str] = frozenset()
        self._publishing = threading.Lock()  # a held snapshot never arrives after the release's
        self._stopped = False

    # -- the one subscription ---------------------------------------------------------------------

    def subscribe(self, *, on_snapshot: Callable[[Snapshot], None] | None = None,
                  on_connection: Callable[[Connection], None] | None = None,
                  on_lines: Callable[[], None] | None = None) -> None:
        """on_lines is called when log lines wait in `store` and none did before: drain them then."""
        self._on_snapshot = on_snapshot
        self._on_connection = on_connection
        self.store.on_pending = on_lines

    # -- life cycle -------------------------------------------------------------------------------

    def attach(self, project: Project, engine: "Engine") -> None:
        """Know the project and engine; nothing runs until start()."""
        # The log readers' module (the stream parser with it) only once there is an engine to read:
        # the app's first frame does not wait for it.
        from stacktui.core.live.logs import LogHub

        self.hub = LogHub(engine, self.store, history=self.history,
                          since=since_ns(self.since) if self.since else None)
        self.watcher = Watcher(project, engine, on_snapshot=self._snapshot, on_event=self._event,
                               on_connection=self._connection, probe_interval=self.probe_interval)

    def start(self, known: Snapshot | None = None) -> bool:
        """Follow the engine (threads); False when there is nothing to follow or it was stopped.

        `known`: a listing the screen already drew. Its containers' logs are followed at once
        instead of after the watcher's own first listing (a request, 20-100 ms, more under load).
        """
        if self._stopped or self.watcher is None or self.watcher.stopped:
            return False
        if known is not None and self.hub is not None:
            self.hub.sync(known.current_ids())
        self.watcher.start()
        return True

    @property
    def following(self) -> bool:
        """Attached to an engine: snapshots and log lines will come."""
        return self.watcher is not None

    def stop(self, wait: float = 0.5) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.store.on_pending = None
        if self.watcher is not None:
            self.watcher.stop(wait=wait)
        if self.hub is not None:
            self.hub.stop(wait=wait)

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- what a screen asks -----------------------------------------------------------------------

    def set_project(self, project: Project) -> None:
        """The compose files changed: same containers, new model (publishes a snapshot)."""
        if self.watcher is not None:
            self.watcher.set_project(project)

    def refresh(self) -> Snapshot | None:
        """List every container again now (blocking); the snapshot as shown, or None when not live."""
        if self.watcher is None:
            return None
        return self._as_shown(self.watcher.refresh())

    # -- a change of the screen's own ---------------------------------------------------------------

    @property
    def held(self) -> frozenset[str]:
        return self._held

    def hold(self, services: Iterable[str]) -> None:
        """Services a change is about to touch: their alarms wait until release()."""
        self._held = self._held | frozenset(services)
        snap = self.watcher.snapshot if self.watcher is not None else None
        if snap is not None:
            self._snapshot(snap)

    def release(self) -> Snapshot | None:
        """The change ended: list and probe again now (blocking), then publish without the hold."""
        snap = None
        if self.watcher is not None and not self._stopped:
            try:
                snap = self.watcher.settle()
            except Exception:  # the engine went away: the watcher says so; the hold still ends
                snap = self.watcher.snapshot
        with self._publishing:
            self._held = frozenset()
        if snap is not None:
            self._snapshot(snap)
        return snap

    # -- from the watcher's threads ---------------------------------------------------------------

    def _as_shown(self, snap: Snapshot) -> Snapshot:
        held = self._held
        if not held:
            return snap
        return Snapshot([held_row(r) if r.service in held else r for r in snap.rows], snap.containers, snap.at)

    def _snapshot(self, snap: Snapshot) -> None:
        if self.hub is not None:
            self.hub.sync(snap.current_ids())
        if self._on_snapshot is None:
            return
        with self._publishing:
            self._on_snapshot(self._as_shown(snap))

    def _event(self, event: EngineEvent) -> None:
        if self.hub is not None:
            self.hub.on_event(event.action, event.service, event.container_id, event.time_ns, event.detail)

    def _connection(self, connection: Connection) -> None:
        if connection.connected and self.hub is not None:
            self.hub.poke_all()  # their containers may have been restarted while no events came
        if self._on_connection is not None:
            self._on_connection(connection)
