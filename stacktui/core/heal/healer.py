"""One project's healer: engine events in, stranded joiners found, the restart plan run on them.

A Watcher (core.live.watcher) follows the project's events and reconnects on its own: the
healer's own, or one it is given and listens to (the TUI's: `H` costs the engine no second
stream and no second listing). An owner's start (or death), the first connection and every
return of the engine ask for a look; one worker thread looks, one look at a time, requests
arriving meanwhile folded into the next look. A look never starts while another plan holds the
project's lock: it waits, then looks again, since that plan may have healed everything already.

The repair is the plan `stacktui restart` runs (core.restart.plan) for the stranded joiners
only: in dependency order, each step gated; a joiner whose owner kept its id is restarted in
place, one whose owner was recreated is recreated through Compose. Joiners that are neither
stranded nor running (stopped by hand) are left out of the plan. The gates never probe an
`x-stacktui.health` URL that leads outside the stack (reported once instead).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo, Engine, lost_engine
from stacktui.core.errors import Busy, StackError
from stacktui.core.heal import events as ev
from stacktui.core.heal.backoff import Backoff
from stacktui.core.heal.events import HealEvent
from stacktui.core.heal.files import FILES_POLL, WatchedFiles, refused
from stacktui.core.heal.unhealthy import DEFAULT_CHECKS, DEFAULT_INTERVAL, UnhealthyCount
from stacktui.core.heal.strand import (STALE, Stranded, find_stranded, foreign_probes, joiners, owners,
                                       without_foreign_probes)
from stacktui.core.health.stale import StaleVerdict, stale_fix
from stacktui.core.live.watcher import Connection, EngineEvent, Watcher
from stacktui.core.lock import project_lock
from stacktui.core.loop import Loop
from stacktui.core.restart.plan import PlanEvent, build_plan, execute
from stacktui.core.durations import seconds

GATE_TIMEOUT = 60.0
LOG_LINES = 5
LOCK_POLL = 1.0  # seconds per attempt at the lock while another plan holds it
TRIGGERS = frozenset({"start", "die"})  # an owner's: its joiners may be stranded (or healable) now
# A joiner whose restart policy fails to start it ("cannot join network ...") after its owner's
# start sends no event at all: a look this often (one listing of the project) catches it.
RELOOK = 15.0
CHECK, FILES = "the health check", "the compose files"


class ProjectHealer:
    """Watches one project; with `heal`, repairs what it finds. `emit` runs on the healer's threads."""

    def __init__(self, project: Project, engine: Engine, emit: Callable[[HealEvent], None], *,
                 heal: bool = True, target: ComposeTarget | None = None, stop: threading.Event | None = None,
                 backoff: Backoff | None = None, gate_timeout: float = GATE_TIMEOUT,
                 watcher_backoff: tuple[float, float] = (0.5, 10.0),
                 model: Callable[[], Project] | None = None, heal_unhealthy: bool = False,
                 unhealthy_checks: int = DEFAULT_CHECKS, check_interval: float | None = DEFAULT_INTERVAL,
                 files: WatchedFiles | None = None, watcher: Watcher | None = None) -> None:
        self.project = project
        self.model = model  # the model as its owner holds it now (the TUI's, after an edit on disk)
        self.files = files  # or the files it came from, read again here when they change (watch)
        self.refused: StackError | None = None  # the files as they are now are refused: no action
        self._next_files = time.monotonic() + FILES_POLL
        self.engine = engine
        self.emit = emit
        self.heal = heal
        self.target = target
        self.stop_event = stop or threading.Event()
        self.backoff = backoff or Backoff()
        self.gate_timeout = gate_timeout
        self.heal_project = without_foreign_probes(project)
        self.proc: str | None = "/proc" if engine.is_local() else None
        self._owners = owners(project)
        self._joiners = set(joiners(project))
        self._wake = threading.Condition()
        self._look_asked: str | None = None  # why the next look was asked for
        self._next_at: float | None = None  # a look due later (backoff, settle)
        self._reported: set[tuple[str, str, str]] = set()  # (service, container, how): one `stale` each
        self._backoff_said: set[tuple[str, int]] = set()
        self._connected: bool | None = None
        self._last_look = time.monotonic()
        self._owed: set[str] = set()  # containers our unfinished plan stopped with their owner
        self._lost = False
        self.busy = threading.Event()  # set while a plan of ours runs
        self._healing_roots: set[str] = set()
        self._abort = threading.Event()  # a root owner died under our plan: stop waiting on its gates
        # Unhealthy services: counted at every check (reported), restarted only with heal_unhealthy.
        self.heal_unhealthy = heal_unhealthy
        self.check_interval = check_interval
        b = self.backoff  # the same rules, a streak of its own per service
        self.unhealthy = UnhealthyCount(unhealthy_checks, Backoff(b.first, b.cap, b.settle, b.max_attempts))
        self._next_check = time.monotonic() + (check_interval or 0.0)
        # The healer's model leaves out probe URLs outside the stack: its watcher never requests them.
        # A watcher given counts them in its rows, so health checks over those rows need one of its own.
        if watcher is not None and check_interval and foreign_probes(project):
            watcher = None
        self._own_watcher = watcher is None
        self.watcher = watcher or Watcher(self.heal_project, engine, on_snapshot=lambda _snap: None,
                                          on_event=self._on_event, on_connection=self._on_connection,
                                          probe_interval=check_interval, backoff=watcher_backoff)
        self._worker = Loop(f"heal-{project.name}", self._loop, stop=self.stop_event)

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> "ProjectHealer":
        for service, url in foreign_probes(self.project).items():
            self._say(ev.FINDING, service, reason=f"x-stacktui.health {url} leads outside the stack: the watcher "
                                                  "does not request it (its other gates still apply)")
        self._worker.start()
        if self._own_watcher:
            self.watcher.start()
        else:
            self.watcher.listen(self._on_event, self._on_connection)
        return self

    def stop(self) -> None:
        """Ask to stop: a plan under way finishes its current step first (see `join`)."""
        self.stop_event.set()
        with self._wake:
            self._wake.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._worker.join(timeout)
        self.release_watcher()

    def release_watcher(self, wait: float = 2.0) -> None:
        """Stop the healer's own watcher, or stop listening to the one it was given."""
        if self._own_watcher:
            self.watcher.stop(wait)
        else:
            self.watcher.unlisten(self._on_event)

    @property
    def alive(self) -> bool:
        return self._worker.alive

    # -- what the watcher tells us ------------------------------------------------------------------

    def _on_event(self, event: EngineEvent) -> None:
        if event.action == "die" and event.service in self._healing_roots:
            self._abort.set()
        if event.action == "die":
            self.backoff.owner_died(event.service, time.time())
        if event.action in TRIGGERS and event.service in self._owners:
            self.ask(f"{event.service} {event.action}")

    def _on_connection(self, conn: Connection) -> None:
        if conn.connected:
            first = self._connected is None
            self._connected = True
            if first:
                self._say(ev.WATCHING, reason="listening to the engine's events" + (", healing" if self.heal else ""))
                self.ask("first look")
            elif self._lost:
                self._lost = False
                self._say(ev.ENGINE_BACK, reason="the engine answers again: looking at every service")
                self.ask("engine back")
        else:
            if self._connected and not self._lost:
                self._lost = True
                self._say(ev.ENGINE_LOST, reason=f"{conn.message}; retrying in {seconds(conn.retry_in or 0)}, "
                                                 "with backoff")
            self._connected = False

    def ask(self, why: str, at: float | None = None) -> None:
        """Ask for a look now (or at monotonic time `at`)."""
        with self._wake:
            if at is None:
                self._look_asked = self._look_asked or why
            elif self._next_at is None or at < self._next_at:
                self._next_at = at
            self._wake.notify_all()

    # -- the worker ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            with self._wake:
                while not self.stop_event.is_set() and self._look_asked is None:
                    if self._next_at is not None and time.monotonic() >= self._next_at:
                        self._next_at = None
                        self._look_asked = "a backoff ended"
                        break
                    relook = self._last_look + RELOOK if self._joiners and self._connected else None
                    if relook is not None and time.monotonic() >= relook:
                        self._look_asked = "the regular look"
                        break
                    check = self._next_check if self.check_interval and self._connected else None
                    if check is not None and time.monotonic() >= check:
                        self._look_asked = CHECK
                        break
                    files = self._next_files if self.files is not None else None
                    if files is not None and time.monotonic() >= files:
                        self._look_asked = FILES
                        break
                    due = [t for t in (self._next_at, relook, check, files) if t is not None]
                    wait = max(0.05, min(due) - time.monotonic()) if due else None
                    self._wake.wait(wait)
                if self.stop_event.is_set():
                    return
                why, self._look_asked = self._look_asked, None
            try:
                if why == CHECK:
                    self._next_check = time.monotonic() + (self.check_interval or 0.0)
                    self.check_health()
                elif why == FILES:
                    self._next_files = time.monotonic() + FILES_POLL
                    self.poll_files()
                else:
                    self.look()
            except Exception as exc:  # the engine went away mid-look: the watcher reports it and asks again
                if lost_engine(exc, self.engine.host) is None:
                    what = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {exc}"
                    self._say(ev.HEAL_FAILED, reason=f"look failed: {what}")
                self.stop_event.wait(0.5)

    def _wait_for_lock(self) -> bool:
        """False when another plan held the lock (it was waited out: look again); True when it is free."""
        name = self.project.name
        try:
            with project_lock(name, "stacktui watch: looking", wait=0.0):
                return True
        except Busy as busy:
            self._say(ev.WAITING, reason=f"{busy.message}; healing waits for it, then looks again")
        while not self.stop_event.is_set():
            try:
                with project_lock(name, "stacktui watch: looking", wait=LOCK_POLL):
                    return False
            except Busy:
                continue
        return False

    def set_project(self, project: Project) -> None:
        """A new model of the same project (its files changed): who owns and who joins may have moved."""
        self.project = project
        self.heal_project = without_foreign_probes(project)
        self._owners = owners(project)
        self._joiners = set(joiners(project))
        if self._own_watcher:  # a watcher given keeps its owner's model (the owner sets it)
            self.watcher.set_project(self.heal_project)

    def poll_files(self) -> None:
        """The compose files changed: the new model, or a refusal (said once; nothing done until fixed)."""
        assert self.files is not None
        got = self.files.poll()
        if got is None:
            return
        if isinstance(got, StackError):
            self.refused = got
            self.emit(refused(self.project.name, got))
            return
        if self.refused is not None:
            self.refused = None
            self._say(ev.WATCHING, reason="the compose files read again: " + ("healing" if self.heal else "watching")
                      + " resumes")
        self.set_project(got)
        self.ask("the compose files changed")

    def look(self) -> None:
        if self.refused is not None:
            return
        while not self._wait_for_lock():
            if self.stop_event.is_set():
                return
        current = self.model() if self.model is not None else None
        if current is not None and current is not self.project and current.name == self.project.name:
            self.set_project(current)  # another project's model is not ours: its owner stops us instead
        self._last_look = time.monotonic()
        containers = self.engine.project_containers(self.project.name)
        running = {c.id for c in containers if c.state == "running"}
        self._owed -= running
        stranded = find_stranded(self.project, containers, self._start_errors(containers), proc=self.proc,
                                 owed=frozenset(self._owed))
        # A service healed since is forgotten: its next stranding is news again.
        self._reported = {k for k in self._reported if k[0] in stranded}
        for s in stranded.values():
            key = (s.service, s.container_id, s.how)
            if key not in self._reported:
                self._reported.add(key)
                wait = "" if s.healable or not self.heal else f"; healing once {s.root} runs"
                self._say(ev.STALE, s.service, s.root, f"{s.reason}{wait}")
        ready = [s for s in stranded.values() if s.healable]
        if not self.heal or not ready:
            return
        now = time.time()
        go: list[Stranded] = []
        for root in sorted({s.root for s in ready}):
            mine = [s for s in ready if s.root == root]
            due = self.backoff.due(root, now, mine[0].started_at)
            if self.backoff.attempts(root):
                self._backoff(root, mine, containers, due, now)
            if due is not None and due <= now:
                go += mine
                continue
            at = self.backoff.settled_at(mine[0].started_at, now) if due is None else due
            self.ask("backoff", at=time.monotonic() + max(0.0, at - now) + 0.05)
        if go:
            self._heal(go, containers)

    def _backoff(self, root: str, mine: list[Stranded], containers: list[ContainerInfo], due: float | None,
                 now: float) -> None:
        """One `backoff` line per heal attempt of a looping owner: why, when, and the owner's last words."""
        attempts = self.backoff.attempts(root)
        key = (root, attempts)
        if key in self._backoff_said:
            return
        self._backoff_said.add(key)
        if due is None:
            reason = (f"{root} keeps dying: gave up after {attempts} heal attempts in a row; healing again once "
                      f"it has run {seconds(self.backoff.settle)}")
        else:
            reason = (f"{root} keeps dying ({attempts} heal attempt(s) in a row): the next heal of "
                      f"{', '.join(s.service for s in mine)} waits {seconds(self.backoff.delay(attempts))} "
                      "after the last")
        logs: list[str] = []
        root_c = next((c for c in containers if c.service == root), None)
        if root_c is not None:
            try:
                logs = self.engine.logs_tail(root_c.id, LOG_LINES)
            except Exception:  # a removed container has no logs left; the event goes out without them
                logs = []
        self._say(ev.BACKOFF, None, root, reason, logs=tuple(logs))

    def _heal(self, stranded: list[Stranded], containers: list[ContainerInfo]) -> None:
        project = self.heal_project
        names = [s.service for s in stranded]
        # The plan starts where `check`'s fix starts (the highest stale link); its joiners follow in order.
        verdicts = {s.service: StaleVerdict(s.service, s.owner, s.reason) for s in stranded if s.how == STALE}
        roots = sorted({stale_fix(verdicts, s.service).restart if s.how == STALE else s.service for s in stranded})
        plan = build_plan(project, roots, containers)
        running = {c.service for c in containers if c.state == "running"}
        # A dependant the plan would add, but that is neither stranded nor running, was stopped on purpose.
        plan.steps = [s for s in plan.steps if s.service in names or s.service in running]
        plan.requested = names
        by = {s.service: s for s in stranded}
        root_of = {s.service: (by[s.service].root if s.service in by else stranded[0].root) for s in plan.steps}
        since = {s.root: s.started_at for s in stranded}
        failed: list[str] = []

        def on_plan(e: PlanEvent) -> None:
            root = root_of.get(e.service)
            if e.kind == "step_started":
                why = by[e.service].reason if e.service in by else "it lives in a namespace the plan restarts"
                self._say(ev.HEAL_STARTED, e.service, root, f"{e.message}; because {why}")
            elif e.kind == "step_done":
                t0 = since.get(root or "")
                self._say(ev.HEAL_DONE, e.service, root, e.message,
                          elapsed=None if t0 is None else max(0.0, time.time() - t0))
            elif e.kind == "step_failed":
                failed.append(e.service)
                died = f"{root} died again during the heal: " if self._abort.is_set() else ""
                self._say(ev.HEAL_FAILED, e.service, root, died + e.message)

        self._healing_roots = {root_of[s.service] for s in plan.steps}
        self._abort.clear()
        self.busy.set()
        try:
            result = execute(plan, project, self.engine, self.target, on_event=on_plan, cancel=self.stop_event,
                             timeout=self.gate_timeout, abort=self._abort, lock_wait=0.0, containers=containers)
        except Busy as busy:
            self._say(ev.WAITING, reason=f"{busy.message}; healing waits for it, then looks again")
            self.ask("lock taken before the heal")
            return
        finally:
            self.busy.clear()
            self._healing_roots = set()
        if result.stopped_not_run:
            self._owed |= {c.id for c in containers if c.service in result.stopped_not_run}
        end = time.time()
        for root in {root_of[s.service] for s in plan.steps}:
            self.backoff.record(root, end, result.ok)
        if result.cancelled and not failed and self.stop_event.is_set():
            left = ", ".join(s.service for s in result.not_run)
            stopped = f" (left stopped with their owner: {', '.join(result.stopped_not_run)})" \
                if result.stopped_not_run else ""
            self._say(ev.HEAL_FAILED, None, stranded[0].root,
                      f"watch stopping: the current step finished; not run: {left}{stopped}")
        if not result.ok and not self.stop_event.is_set():
            self.ask("after a failed heal")  # the backoff decides when

    # -- unhealthy services (--heal-unhealthy) ---------------------------------------------------------

    def check_health(self) -> None:
        """One check of the live rows: report a service unhealthy for N checks in a row; with
        heal_unhealthy, restart it in order (its joiners with it), under the backoff."""
        snap = self.watcher.snapshot
        if snap is None or self.busy.is_set() or self.refused is not None:
            return
        try:  # a plan holds the project: what it changes is unhealthy in passing; not a check
            with project_lock(self.project.name, "stacktui watch: checking health", wait=0.0):
                pass
        except Busy:
            return
        now = time.time()
        reached, over = self.unhealthy.see(snap.rows, now)
        n = self.unhealthy.needed
        for row in reached:
            why = "; ".join(row.reasons[:2]) or "unhealthy"
            act = "restarting it in order" if self.heal_unhealthy else "reported only (--heal-unhealthy restarts it)"
            self._say(ev.UNHEALTHY, row.service, reason=f"unhealthy at {n} checks in a row: {why}; {act}")
        if not self.heal_unhealthy:
            return
        backoff = self.unhealthy.backoff
        for row in over:
            due = backoff.due(row.service, now, None)
            if backoff.attempts(row.service):
                self._unhealthy_backoff(row.service, due)
            if due is not None and due <= now:
                self._restart_unhealthy(row.service, f"unhealthy at {self.unhealthy.checks(row.service)} checks "
                                                     f"in a row: {'; '.join(row.reasons[:1]) or 'unhealthy'}",
                                        snap.containers)
                return  # one plan per check: the next check sees the stack as that plan left it

    def _unhealthy_backoff(self, service: str, due: float | None) -> None:
        attempts = self.unhealthy.backoff.attempts(service)
        key = (f"unhealthy:{service}", attempts)
        if key in self._backoff_said:
            return
        self._backoff_said.add(key)
        if due is None:
            reason = (f"{service} stays unhealthy: gave up after {attempts} restarts in a row; restarting it again "
                      f"once it has been healthy {seconds(self.unhealthy.backoff.settle)}")
        else:
            reason = (f"{service} stays unhealthy ({attempts} restart(s) in a row): the next restart waits "
                      f"{seconds(self.unhealthy.backoff.delay(attempts))} after the last")
        self._say(ev.BACKOFF, service, None, reason)

    def _restart_unhealthy(self, service: str, why: str, containers: list[ContainerInfo]) -> None:
        plan = build_plan(self.heal_project, [service], containers)
        running = {c.service for c in containers if c.state == "running"}
        # A joiner an earlier failed attempt left stopped with this owner belongs to the chain all the same.
        owed = {c.service for c in containers if c.id in self._owed}
        plan.steps = [s for s in plan.steps if s.service == service or s.service in running | owed]

        def on_plan(e: PlanEvent) -> None:
            if e.kind == "step_started":
                because = why if e.service == service else f"it lives in {service}'s namespace"
                self._say(ev.HEAL_STARTED, e.service, None, f"{e.message}; because {because}")
            elif e.kind == "step_done":
                self._say(ev.HEAL_DONE, e.service, None, e.message, elapsed=time.time() - started)
            elif e.kind == "step_failed":
                self._say(ev.HEAL_FAILED, e.service, None, e.message)

        started = time.time()
        self.busy.set()
        try:
            result = execute(plan, self.heal_project, self.engine, self.target, on_event=on_plan,
                             cancel=self.stop_event, timeout=self.gate_timeout, lock_wait=0.0, containers=containers)
        except Busy:
            return  # a plan of someone else's: the next check looks again
        finally:
            self.busy.clear()
        self.unhealthy.restarted(service)
        self.unhealthy.backoff.record(service, time.time(), result.ok)
        if result.stopped_not_run:
            self._restore_riders(result.stopped_not_run, containers)

    def _restore_riders(self, riders: list[str], containers: list[ContainerInfo]) -> None:
        """Joiners stopped with an owner whose restart then failed: they ran before it, so they run after it,
        in order, in the owner's namespace as it is now (the owner runs, if unhealthy). Until then they are owed."""
        self._owed |= {c.id for c in containers if c.service in riders}
        plan = build_plan(self.heal_project, riders, containers)
        plan.steps = [s for s in plan.steps if s.service in riders]

        def on_plan(e: PlanEvent) -> None:
            if e.kind == "step_started":
                self._say(ev.HEAL_STARTED, e.service, None, f"{e.message}; because it was stopped with its owner, "
                                                            "whose restart failed")
            elif e.kind == "step_done":
                self._say(ev.HEAL_DONE, e.service, None, e.message)
            elif e.kind == "step_failed":
                self._say(ev.HEAL_FAILED, e.service, None, e.message)

        self.busy.set()
        try:
            result = execute(plan, self.heal_project, self.engine, self.target, on_event=on_plan,
                             cancel=self.stop_event, timeout=self.gate_timeout, lock_wait=0.0)
        except Busy:
            return  # the stranded heal finds them (they are owed) once that plan is done
        finally:
            self.busy.clear()
        if result.ok:
            self._owed -= {c.id for c in containers if c.service in riders}

    def _start_errors(self, containers: list[ContainerInfo]) -> dict[str, str]:
        """State.Error of joiners that are not running: the engine's reason for refusing their start."""
        out: dict[str, str] = {}
        for c in containers:
            if c.service in self._joiners and c.state != "running":
                try:
                    out[c.id] = str(((self.engine.inspect_raw(c.id).get("State") or {}).get("Error")) or "")
                except Exception as exc:
                    if getattr(exc, "status_code", None) != 404:
                        raise
        return out

    def _say(self, kind: str, service: str | None = None, owner: str | None = None, reason: str = "", *,
             elapsed: float | None = None, logs: tuple[str, ...] = ()) -> None:
        self.emit(HealEvent(kind, self.project.name, service, owner, reason, elapsed, logs))
