"""The live model of a running project: engine events in, status rows out. No polling for state.

It subscribes to the engine's one event follower (`engine.follower`: one stream
per engine, one reconnect policy); each time the stream opens it lists the
project's containers; from then on each event re-inspects just that container
and publishes fresh status rows (`stacktui.core.health.status.collect`). When the
engine goes away the follower says so, retries with backoff, and on return the
watcher lists everything again. Others who want the project's events and the
connection (the TUI's healer) `listen` to the watcher instead of following again.

HTTP probes (`x-stacktui.health`) are not engine state: a second thread runs
them on their interval, and soon after a state change, and publishes rows when
a result changes.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

from stacktui.core.engine.client import ONEOFF_LABEL, SERVICE_LABEL, ContainerInfo
from stacktui.core.engine.follower import ACTIONS, Event, Subscription
from stacktui.core.compose.model import Project
from stacktui.core.health.status import ProbeResult, ServiceStatus, collect

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

log = logging.getLogger(__name__)

# Actions that change what a status row says: all the follower lets through.
WATCHED_ACTIONS = ACTIONS
DEFAULT_PROBE_INTERVAL = 5.0
PROBE_AFTER_CHANGE = 1.0  # seconds after a state change before probing again
PROBE_TIMEOUT = 2.0
# Events that announce a change still to come: the engine holds the container's lock while a
# kill is delivered, so inspecting on "kill" waited (measured 150-500 ms) and held up the "die"
# right behind it. The state change itself arrives as die (or nothing, for a harmless signal).
NO_INSPECT = frozenset({"kill"})


@dataclass(frozen=True)
class EngineEvent:
    """One container event of the project, as the UI and the log hub need it."""

    action: str  # "start", "die", "health_status", ...
    service: str
    container_id: str
    time_ns: int
    detail: str = ""  # exit code for die, the health word for health_status


@dataclass(frozen=True)
class Snapshot:
    """Everything the table shows, at one moment."""

    rows: list[ServiceStatus]
    containers: list[ContainerInfo]
    at: float = field(default_factory=time.time)

    def container_of(self, service: str) -> ContainerInfo | None:
        row = next((r for r in self.rows if r.service == service), None)
        if row is None or row.container_id is None:
            return None
        return next((c for c in self.containers if c.id == row.container_id), None)

    def current_ids(self) -> dict[str, str | None]:
        """service -> id of the container its row describes."""
        return {r.service: r.container_id for r in self.rows}


@dataclass(frozen=True)
class Connection:
    connected: bool
    message: str = ""
    retry_in: float | None = None  # seconds until the next attempt, when disconnected
    attempt: int = 0


def parse_event(ev: Mapping[str, Any]) -> EngineEvent | None:
    """The engine's event JSON as an EngineEvent; None for events that are not ours to show."""
    action = str(ev.get("Action") or ev.get("status") or "")
    if not action or action.startswith("exec_"):
        return None
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    if attrs.get(ONEOFF_LABEL) == "True":
        return None
    cid = str(actor.get("ID") or ev.get("id") or "")
    if not cid:
        return None
    detail = ""
    if action == "die":
        detail = str(attrs.get("exitCode", ""))
    elif action.startswith("health_status"):
        action, _, detail = action.partition(":")
        detail = detail.strip()
    time_ns = int(ev.get("timeNano") or int(ev.get("time") or 0) * 1_000_000_000 or time.time_ns())
    return EngineEvent(action.strip(), str(attrs.get(SERVICE_LABEL, "")), cid, time_ns, detail)


def _is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 404  # docker-py's NotFound, without importing docker


class Watcher:
    """Keeps the project's containers current from engine events and publishes Snapshots.

    Callbacks run on the engine follower's thread: keep them short (post a message, append a line).
    """

    def __init__(self, project: Project, engine: "Engine", *,
                 on_snapshot: Callable[[Snapshot], None],
                 on_event: Callable[[EngineEvent], None] | None = None,
                 on_connection: Callable[[Connection], None] | None = None,
                 probe_interval: float | None = DEFAULT_PROBE_INTERVAL,
                 backoff: tuple[float, float] | None = None) -> None:
        self.project = project
        self.engine = engine
        self.on_snapshot = on_snapshot
        self.probe_interval = probe_interval
        self.backoff = backoff  # given: the reconnect delays of the engine's follower (one policy per engine)
        self.connected: bool | None = None
        self.snapshot: Snapshot | None = None
        self._containers: dict[str, ContainerInfo] = {}
        self._probes: dict[str, ProbeResult] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._prober: Any = None  # a ProbeScheduler, when the stack declares probes
        self._sub: Subscription | None = None
        # Who hears the events and the connection: the owner first, then whoever `listen`s.
        self._listeners: list[tuple[Callable[[EngineEvent], None] | None, Callable[[Connection], None] | None]] = [
            (on_event, on_connection)]

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> "Watcher":
        if self._stop.is_set() or self._sub is not None:
            return self
        follower = self.engine.follower()
        if self.backoff is not None:
            follower.backoff = self.backoff
        self._sub = follower.subscribe(Subscription(
            self._on_raw, self.project.name, on_open=self._opened, on_down=self._down,
            actions=frozenset(WATCHED_ACTIONS)))
        if self.probe_interval and any(s.x.health for s in self.project.services.values()):
            from stacktui.core.health.probes import ProbeScheduler  # httpx only for stacks that probe

            self._prober = ProbeScheduler(self.project, self.containers, self._probe_results,
                                          interval=self.probe_interval, timeout=PROBE_TIMEOUT,
                                          local_engine=self.engine.is_local(),
                                          engine_host=self.engine.endpoint.address,
                                          on_error=lambda exc: log.debug("probes failed: %s", exc),
                                          paused=lambda: not self.connected).start()
        return self

    def stop(self, wait: float = 2.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + wait
        if self._prober is not None:
            self._prober.stop(wait)
        sub, self._sub = self._sub, None
        if sub is not None:
            self.engine.follower().unsubscribe(sub, max(0.0, deadline - time.monotonic()))

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        """Still hearing the engine (or the prober still running)."""
        return self._sub is not None or (self._prober is not None and self._prober.running)

    def listen(self, on_event: Callable[[EngineEvent], None], on_connection: Callable[[Connection], None]) -> None:
        """Hear this watcher's events and connection changes too, on the follower's thread; told at once
        when the engine is already connected. Costs the engine nothing: no stream, no listing."""
        with self._lock:
            self._listeners.append((on_event, on_connection))
            connected = self.connected
        if connected:
            on_connection(Connection(True))

    def unlisten(self, on_event: Callable[[EngineEvent], None]) -> None:
        with self._lock:  # `!=`, not `is not`: each access to a bound method makes a new, equal one
            self._listeners = [pair for pair in self._listeners if pair[0] != on_event]

    # -- what callers may ask ---------------------------------------------------------------------

    def containers(self) -> list[ContainerInfo]:
        with self._lock:
            return list(self._containers.values())

    def set_project(self, project: Project) -> None:
        """The compose files changed (a layout change was applied): same containers, new model."""
        with self._lock:
            self.project = project
            if self._prober is not None:
                self._prober.project = project
            self._publish()

    def refresh(self) -> Snapshot:
        """List every container again now (blocking; for 'check now' and after plans)."""
        containers = self.engine.project_containers(self.project.name)
        with self._lock:
            self._containers = {c.id: c for c in containers}
            snap = self._publish()
        self._probe_soon()
        return snap

    def settle(self) -> Snapshot:
        """List every container and probe them now (blocking): the state right after a change,
        with no probe result left from before it."""
        snap = self.refresh()
        if self._prober is None:
            return snap
        from stacktui.core.health.probes import probe_all

        with self._lock:
            project = self.project
        self._probe_results(probe_all(project, self.containers(), PROBE_TIMEOUT, self.engine.is_local(),
                                      engine_host=self.engine.endpoint.address))
        with self._lock:
            return self.snapshot or snap

    # -- from the engine's follower ----------------------------------------------------------------

    def _opened(self) -> None:
        """The stream is (re)open: list everything, then say so."""
        if self._stop.is_set():
            return
        self.refresh()
        self._set_connected(True, "")

    def _down(self, message: str, retry_in: float, attempt: int) -> None:
        if not self._stop.is_set():
            self._set_connected(False, message, retry_in=retry_in, attempt=attempt)

    def _on_raw(self, raw: Event) -> None:
        if not self._stop.is_set():
            self._handle(raw)

    def _handle(self, raw: Mapping[str, Any]) -> None:
        ev = parse_event(raw)
        if ev is None:
            return
        if ev.action in NO_INSPECT:
            self._tell(ev)
            return
        if ev.action == "die":
            self._publish_death(ev)
        if ev.action == "destroy":
            with self._lock:
                self._containers.pop(ev.container_id, None)
        else:
            try:
                info = self.engine.inspect(ev.container_id)
            except Exception as exc:
                if not _is_not_found(exc):
                    raise
                with self._lock:
                    self._containers.pop(ev.container_id, None)
            else:
                if info.labels.get(ONEOFF_LABEL) != "True":
                    with self._lock:
                        self._containers[info.id] = info
        with self._lock:
            self._publish()
        self._tell(ev)
        if ev.action in ("start", "restart", "die", "health_status", "unpause"):
            self._probe_soon()

    def _listening(self) -> list[tuple[Callable[[EngineEvent], None] | None, Callable[[Connection], None] | None]]:
        with self._lock:
            return list(self._listeners)

    def _tell(self, ev: EngineEvent) -> None:
        for on_event, _ in self._listening():
            if on_event is not None:
                on_event(ev)

    def _publish_death(self, ev: EngineEvent) -> None:
        """Show a death from the event itself: an inspect right after "die" waits for the engine's
        clean-up (network teardown; measured 150-500 ms). The inspect that follows fills the rest."""
        with self._lock:
            known = self._containers.get(ev.container_id)
            if known is None or known.state == "exited":
                return
            try:
                code = int(ev.detail)
            except ValueError:
                code = known.exit_code
            self._containers[ev.container_id] = replace(
                known, state="exited", exit_code=code, pid=0,
                finished_at=datetime.fromtimestamp(ev.time_ns / 1e9, timezone.utc))
            self._publish()

    def _publish(self) -> Snapshot:
        with self._lock:
            containers = list(self._containers.values())
            snap = Snapshot(collect(self.project, containers, dict(self._probes)), containers)
            self.snapshot = snap
        self.on_snapshot(snap)
        return snap

    def _set_connected(self, connected: bool, message: str, retry_in: float | None = None,
                       attempt: int = 0) -> None:
        changed = connected != self.connected
        self.connected = connected
        if not changed and connected:
            return
        conn = Connection(connected, message, retry_in, attempt)
        for _, on_connection in self._listening():
            if on_connection is not None:
                on_connection(conn)

    # -- probes -----------------------------------------------------------------------------------

    def _probe_results(self, results: Mapping[str, ProbeResult]) -> None:
        with self._lock:
            # A round that began before the newest result we hold (settle() probes beside the
            # scheduler) is older news: it must not put back what a later probe saw.
            results = {k: v if _not_older(v, self._probes.get(k)) else self._probes[k] for k, v in results.items()}
            before = {k: (v.ok, v.status_code, v.error) for k, v in self._probes.items()}
            after = {k: (v.ok, v.status_code, v.error) for k, v in results.items()}
            self._probes = results
            if before != after:
                self._publish()

    def _probe_soon(self) -> None:
        if self._prober is not None:
            self._prober.probe_now(after=PROBE_AFTER_CHANGE)  # let a restart settle before asking


def _not_older(new: ProbeResult, old: ProbeResult | None) -> bool:
    return old is None or old.at is None or new.at is None or new.at >= old.at
