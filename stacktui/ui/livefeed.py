"""What the LiveStack publishes, onto the screen: snapshots into the table, log batches into the
pane, the engine's connection into the banner, and the checks that follow a change of state.

Core calls in on its own threads; everything crosses to the UI thread as one
message per state change, or one flush per batch of log lines, never one per line.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime

from rich.text import Text
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Static

from stacktui.core.live.watcher import Connection, Snapshot
from stacktui.ui.background import job
from stacktui.ui.operations import FindingView
from stacktui.core.durations import seconds
from stacktui.ui.tuning import ProcessTuning

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


class LiveFeed:
    """Mixed into StackApp: the subscriber of its LiveStack."""

    _burst: tuple[float, int] = (0.0, 0)  # during a flood: when the flush is due, the store's count at the last look
    tuning: ProcessTuning  # StackApp's: the collector and switch interval during a flood

    # -- from core threads (the watcher's and the log readers') ------------------------------------------

    def _subscribe(self) -> None:
        self.live_stack.subscribe(on_snapshot=lambda snap: self.post_message(SnapshotArrived(snap)),
                                  on_connection=lambda conn: self.post_message(ConnectionChanged(conn)),
                                  on_lines=self._lines_waiting)

    def _lines_waiting(self) -> None:
        """On a reader thread: lines wait in the store and none did before. Once per batch."""
        loop = self._loop_for_logs
        if loop is None:
            self.post_message(LogsPending())
            return
        try:
            # Straight onto the event loop, in the app's context: a Textual message per batch
            # costs more than the batch at idle (three quiet services, a line a second each).
            loop.call_soon_threadsafe(self._schedule_flush, context=self._context_for_logs)
        except RuntimeError:  # the loop is closed: the app is gone
            pass

    # -- the table ----------------------------------------------------------------------------------------

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        try:
            self.show_snapshot(message.snapshot)
        except NoMatches:  # the app is closing: a death published from its event arrives after the widgets went
            pass

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw a snapshot (from the watcher, or fixed data in tests)."""
        before = self.snapshot
        self.snapshot = snapshot
        self.table.show(snapshot.rows, self.clock())
        if self.first_rows_at is None and snapshot.rows:
            self.first_rows_at = time.perf_counter()
        if self.live and (before is None or _verdicts(before) != _verdicts(snapshot)):
            self._schedule_check(0.2 if before is None else CHECK_DELAY)

    def _tick(self) -> None:
        """The uptime column, unless a log flush refreshed it since the last time.

        Idle, a followed service's line a second and the uptime of young containers each drew
        a frame a second, in their own phases; the flush now takes the uptime along.
        """
        if self._ticked_since_timer:
            self._ticked_since_timer = False
        else:
            self._refresh_uptime()

    def _tick_with_flush(self) -> None:
        self._ticked_since_timer = True
        self._refresh_uptime()

    def _refresh_uptime(self) -> None:
        try:
            self.table.tick(self.clock())
            self.show_pending_figures()  # in the same frame as the uptime and the log lines (ui.everyday)
        except NoMatches:  # the app is closing: its widgets are gone before its timers
            pass

    # -- the log pane -------------------------------------------------------------------------------------

    def on_logs_pending(self, message: LogsPending) -> None:
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # asyncio's call_later, not a Textual Timer: a Timer is a task of its own, and at idle
            # (a line a second per service) making one per batch cost more than drawing the line.
            loop = asyncio.get_running_loop()
            if self._flush_interval > FLUSH_INTERVAL:
                self._burst = (loop.time() + self._flush_interval, self.store.arrived)
                loop.call_later(BURST_LOOK, self._flush_when_quiet)
            else:
                loop.call_later(self._flush_interval, self._flush_logs)

    def _flush_when_quiet(self) -> None:
        """During a flood: the flush waits FLOOD_INTERVAL, unless the lines stopped coming (a
        backlog read to its end): then its last lines are drawn now, not up to 0.15 s later."""
        due, seen = self._burst
        arrived = self.store.arrived
        loop = asyncio.get_running_loop()
        left = due - loop.time()
        if arrived == seen or left <= BURST_LOOK / 2:
            self._flush_logs()
        else:
            self._burst = (due, arrived)
            loop.call_later(min(BURST_LOOK, left), self._flush_when_quiet)

    def _flush_logs(self) -> None:
        self._flush_scheduled = False
        pending, overflowed = self.store.drain()
        flooding = overflowed or len(pending) >= FLOOD_BATCH
        self._flush_interval = FLOOD_INTERVAL if flooding else FLUSH_INTERVAL
        self.tuning.flood(flooding)
        try:
            if overflowed:
                self.pane.redraw()
            elif pending and self.pane.flush(pending):
                self._tick_with_flush()  # into the frame being drawn anyway, rather than one of its own
        except NoMatches:  # closing
            pass

    def flush_logs_now(self) -> None:
        """Draw what is waiting without the batching delay (tests, and before a screenshot)."""
        self._flush_logs()

    # -- the engine's connection ----------------------------------------------------------------------------

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        conn = message.connection
        was = self.connection
        self.connection = conn
        try:
            banner = self._main.query_one("#banner", Static)
        except NoMatches:  # the app is closing (or, ui.switch, between two projects' widgets)
            return
        if conn.connected:
            banner.display = False
            if was is not None and not was.connected:
                self.notify("the engine answers again; state and logs are current", title="engine back")
        else:
            host = self.engine_label or getattr(self.engine, "host", "the engine")
            text = Text(f"\u26a0 {host}: {conn.message}.", style="bold")
            if conn.retry_in is not None:
                text.append(f" Retrying in {seconds(conn.retry_in)} (attempt {conn.attempt}).")
            text.append(" The table shows the last known state.")
            banner.update(text)
            banner.display = True
        self._draw_topbar()

    # -- findings: checked after state changes, held for services under a change of ours ------------------------

    def _schedule_check(self, delay: float) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(delay, self._start_check)

    def _start_check(self, refresh: bool = False) -> None:
        self._check_timer = None
        if self.actions is None or self.snapshot is None and not refresh:
            return
        if self.live_stack.held:
            return  # the change's end checks (ChangeEnded)
        try:
            panel = self.findings_panel
        except NoMatches:  # the timer fired while the app closes: its screen is gone
            return
        panel.set_checking(True)
        self._check(refresh)

    def _check_ended(self, error: BaseException | None = None) -> bool:
        self.findings_panel.set_checking(False)
        return False

    @job("check failed", undo=_check_ended, on_cancel=_check_ended, exclusive=True)
    def _check(self, refresh: bool) -> None:
        assert self.actions is not None
        snapshot = self.snapshot
        if refresh:
            snapshot = self.live_stack.refresh() or snapshot
        if snapshot is None:
            return
        findings = self.actions.check(snapshot.containers)
        self.call_from_thread(self.show_findings, findings)

    def show_findings(self, findings: list[FindingView], at: datetime | None = None) -> None:
        held = self.live_stack.held
        if held:  # a check that began before the change: what it says of the changed services waits
            findings = [f for f in self.findings if f.service in held] + [f for f in findings if f.service not in held]
        self.findings = list(findings)
        try:
            panel = self.findings_panel
        except NoMatches:  # a check that ends while the app closes (or between two projects' widgets)
            return
        panel.show(self.findings, at or self.clock())


def _verdicts(snapshot: Snapshot) -> list[tuple[str, str, str, bool]]:
    return [(r.service, r.state, r.health, r.stale) for r in snapshot.rows]
