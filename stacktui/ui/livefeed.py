"""What the LiveStack publishes, onto the screen: snapshots into the table, log batches into the
pane, the engine's connection into the banner, and the checks that follow a change of state.

Core calls in on its own threads; everything crosses to the UI thread as one
message per state change, or one flush per batch of log lines, never one per line.
"""
from __future__ import annotations

import asyncio
import contextvars
import time
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Static

from stacktui.core.live.watcher import Connection, Snapshot
from stacktui.ui.background import job
from stacktui.ui.operations import FindingView, StackOperations
from stacktui.ui.parts import Part
from stacktui.core.durations import seconds

if TYPE_CHECKING:
    from textual.timer import Timer

    from stacktui.ui.app import StackApp

FLUSH_INTERVAL = 0.05  # log lines reach the screen in batches at most this old
# During a flood each frame costs the same whatever the batch holds (the visible lines are all new),
# so frames, not lines, are what to save: batches of this size or more mean the next one waits longer.
FLOOD_BATCH = 2000
FLOOD_INTERVAL = 0.15
BURST_LOOK = 0.025  # during a flood, how often the flush looks whether lines still come
CHECK_DELAY = 1.5  # after a state change, check again once things settle
TICK_INTERVAL = 1.0  # how often the uptime column is refreshed; a log flush in between stands in for one


class SnapshotArrived(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:  # only the newest state matters
        return isinstance(message, SnapshotArrived)


class LogsPending(Message):
    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogsPending)


class ConnectionChanged(Message):
    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection


class LiveFeed(Part):
    """The subscriber of the app's LiveStack: snapshots, log batches, the connection, the checks."""

    def __init__(self, app: "StackApp") -> None:
        super().__init__(app)
        self.flush_scheduled = False
        self.flush_interval = FLUSH_INTERVAL
        # During a flood: when the flush is due, and the store's count at the last look.
        self.burst: tuple[float, int] = (0.0, 0)
        self.ticked_since_timer = False  # a log flush refreshed the uptime since the timer last fired
        self.check_timer: Timer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the app's, for the log readers' calls
        self._context: contextvars.Context | None = None

    def mounted(self) -> None:
        """On the event loop, at mount: where the log readers' batches are scheduled."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()

    # -- from core threads (the watcher's and the log readers') ------------------------------------------

    def subscribe(self) -> None:
        app = self.app
        app.live_stack.subscribe(on_snapshot=lambda snap: self.post(SnapshotArrived(snap)),
                                 on_connection=lambda conn: self.post(ConnectionChanged(conn)),
                                 on_lines=self._lines_waiting)

    def _lines_waiting(self) -> None:
        """On a reader thread: lines wait in the store and none did before. Once per batch."""
        loop = self._loop
        if loop is None:
            self.post(LogsPending())
            return
        try:
            # Straight onto the event loop, in the app's context: a Textual message per batch
            # costs more than the batch at idle (three quiet services, a line a second each).
            loop.call_soon_threadsafe(self.schedule_flush, context=self._context)
        except RuntimeError:  # the loop is closed: the app is gone
            pass

    # -- the table ----------------------------------------------------------------------------------------

    def snapshot_arrived(self, message: SnapshotArrived) -> None:
        try:
            self.show_snapshot(message.snapshot)
        except NoMatches:  # the app is closing: a death published from its event arrives after the widgets went
            pass

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw a snapshot (from the watcher, or fixed data in tests)."""
        app = self.app
        before = app.snapshot
        app.snapshot = snapshot
        app.table.show(snapshot.rows, app.clock())
        if app.first_rows_at is None and snapshot.rows:
            app.first_rows_at = time.perf_counter()
        if app.live and (before is None or _verdicts(before) != _verdicts(snapshot)):
            self.schedule_check(0.2 if before is None else CHECK_DELAY)

    def tick(self) -> None:
        """The uptime column, unless a log flush refreshed it since the last time.

        Idle, a followed service's line a second and the uptime of young containers each drew
        a frame a second, in their own phases; the flush now takes the uptime along.
        """
        if self.ticked_since_timer:
            self.ticked_since_timer = False
        else:
            self._refresh_uptime()

    def _tick_with_flush(self) -> None:
        self.ticked_since_timer = True
        self._refresh_uptime()

    def _refresh_uptime(self) -> None:
        app = self.app
        try:
            app.table.tick(app.clock())
            app.everyday.show_pending_figures()  # in the same frame as the uptime and the log lines
        except NoMatches:  # the app is closing: its widgets are gone before its timers
            pass

    # -- the log pane -------------------------------------------------------------------------------------

    def schedule_flush(self) -> None:
        if not self.flush_scheduled:
            self.flush_scheduled = True
            # asyncio's call_later, not a Textual Timer: a Timer is a task of its own, and at idle
            # (a line a second per service) making one per batch cost more than drawing the line.
            loop = asyncio.get_running_loop()
            if self.flush_interval > FLUSH_INTERVAL:
                self.burst = (loop.time() + self.flush_interval, self.app.store.arrived)
                loop.call_later(BURST_LOOK, self.flush_when_quiet)
            else:
                loop.call_later(self.flush_interval, self.flush_logs)

    def flush_when_quiet(self) -> None:
        """During a flood: the flush waits FLOOD_INTERVAL, unless the lines stopped coming (a
        backlog read to its end): then its last lines are drawn now, not up to 0.15 s later."""
        due, seen = self.burst
        arrived = self.app.store.arrived
        loop = asyncio.get_running_loop()
        left = due - loop.time()
        if arrived == seen or left <= BURST_LOOK / 2:
            self.flush_logs()
        else:
            self.burst = (due, arrived)
            loop.call_later(min(BURST_LOOK, left), self.flush_when_quiet)

    def flush_logs(self) -> None:
        app = self.app
        self.flush_scheduled = False
        pending, overflowed = app.store.drain()
        flooding = overflowed or len(pending) >= FLOOD_BATCH
        self.flush_interval = FLOOD_INTERVAL if flooding else FLUSH_INTERVAL
        app.tuning.flood(flooding)
        try:
            if overflowed:
                app.pane.redraw()
            elif pending and app.pane.flush(pending):
                self._tick_with_flush()  # into the frame being drawn anyway, rather than one of its own
        except NoMatches:  # closing
            pass

    # -- the engine's connection ----------------------------------------------------------------------------

    def connection_changed(self, message: ConnectionChanged) -> None:
        app = self.app
        conn = message.connection
        was = app.connection
        app.connection = conn
        try:
            banner = app.main_screen.query_one("#banner", Static)
        except NoMatches:  # the app is closing (or, ui.switch, between two projects' widgets)
            return
        if conn.connected:
            banner.display = False
            if was is not None and not was.connected:
                app.notify("the engine answers again; state and logs are current", title="engine back")
        else:
            host = app.engine_label or (app.engine.host if app.engine is not None else "the engine")
            text = Text(f"\u26a0 {host}: {conn.message}.", style="bold")
            if conn.retry_in is not None:
                text.append(f" Retrying in {seconds(conn.retry_in)} (attempt {conn.attempt}).")
            text.append(" The table shows the last known state.")
            banner.update(text)
            banner.display = True
        app.draw_topbar()

    # -- findings: checked after state changes, held for services under a change of ours ------------------------

    def schedule_check(self, delay: float) -> None:
        self.cancel_check()
        self.check_timer = self.app.set_timer(delay, self.start_check)

    def cancel_check(self) -> None:
        if self.check_timer is not None:
            self.check_timer.stop()
            self.check_timer = None

    def start_check(self, refresh: bool = False) -> None:
        app = self.app
        self.check_timer = None
        if app.actions is None or app.snapshot is None and not refresh:
            return
        if app.live_stack.held:
            return  # the change's end checks (ChangeEnded)
        try:
            panel = app.findings_panel
        except NoMatches:  # the timer fired while the app closes: its screen is gone
            return
        panel.set_checking(True)
        self._check(app.actions, refresh)

    def _check_ended(self, error: BaseException | None = None) -> bool:
        self.app.findings_panel.set_checking(False)
        return False

    def _check_cancelled(self) -> None:
        self._check_ended()

    @job("check failed", undo=_check_ended, on_cancel=_check_cancelled, exclusive=True)
    def _check(self, actions: StackOperations, refresh: bool) -> None:
        live_stack = self.app.live_stack
        snapshot = self.app.snapshot
        if refresh:
            snapshot = live_stack.refresh() or snapshot
        if snapshot is None:
            return
        findings = actions.check(snapshot.containers)
        self.app.call_from_thread(self.show_findings, findings)

    def show_findings(self, findings: list[FindingView], at: datetime | None = None) -> None:
        app = self.app
        held = app.live_stack.held
        if held:  # a check that began before the change: what it says of the changed services waits
            findings = [f for f in app.findings if f.service in held] + [f for f in findings if f.service not in held]
        app.findings = list(findings)
        try:
            panel = app.findings_panel
        except NoMatches:  # a check that ends while the app closes (or between two projects' widgets)
            return
        panel.show(app.findings, at or app.clock())


def _verdicts(snapshot: Snapshot) -> list[tuple[str, str, str, bool]]:
    return [(r.service, r.state, r.health, r.stale) for r in snapshot.rows]
