"""The LiveStack on the real engine: one subscription gets rows, connection and log lines; a hold keeps
a change's passing alarms off its services' rows and the release shows the truth."""
from __future__ import annotations

from stacktui.core.engine.loglines import EVENT
from stacktui.core.health.status import HEALTHY, STALE, STARTING, ServiceStatus
from stacktui.core.live.stack import HELD_REASON, LiveStack, held_row
from tests.test_watch import Recorder, load


def test_a_held_row_keeps_its_state_and_loses_only_the_alarm():
    stale = ServiceStatus("mcp-server", "running", STALE, stale=True, stale_reason="vscode restarted", reasons=["x"])
    held = held_row(stale)
    assert (held.state, held.health, held.stale, held.stale_reason) == ("running", STARTING, False, None)
    assert held.reasons == [HELD_REASON, "x"]
    healthy = ServiceStatus("vscode", "running", HEALTHY)
    assert held_row(healthy) is healthy


def test_one_subscription_for_rows_and_lines_and_a_hold_until_release(demo_stack, engine):
    rec = Recorder()
    waiting: list[int] = []
    live = LiveStack(probe_interval=None)
    live.subscribe(on_snapshot=rec.snapshots.append, on_connection=rec.connections.append,
                   on_lines=lambda: waiting.append(1))
    live.attach(load(demo_stack), engine)
    assert live.start()
    try:
        rec.wait(lambda: rec.row("mcp-server") and rec.row("mcp-server").health == HEALTHY, what="mcp-server healthy")
        assert rec.connections and rec.connections[-1].connected
        # The log followers were started by the LiveStack from its own snapshots.
        rec.wait(lambda: live.store.count("mcp-server") > 0 and waiting, what="mcp-server's log lines")

        live.hold(["mcp-server"])
        seen = len(rec.snapshots)
        # A raw restart of the owner strands mcp-server in vscode's old namespace: stale, really.
        engine.restart(demo_stack.container(engine, "vscode").id, timeout=1)
        rec.wait(lambda: rec.row("vscode") and rec.row("vscode").state == "running" and len(rec.snapshots) > seen + 1,
                 what="vscode running again")
        # Engine events reached the log followers without the subscriber relaying them.
        rec.wait(lambda: any(line.stream == EVENT and "restarted" in line.text for line in live.store.lines("vscode")),
                 what="the restart's marker line in vscode's log")
        assert not any(r.stale or r.health == STALE for snap in rec.snapshots[seen:] for r in snap.rows
                       if r.service == "mcp-server")
        assert rec.row("mcp-server").health == STARTING and rec.row("mcp-server").reasons[0] == HELD_REASON

        shown = live.release()
        assert shown is not None and live.held == frozenset()
        row = next(r for r in shown.rows if r.service == "mcp-server")
        assert row.stale and row.health == STALE  # the hold hid nothing that outlives it
        assert rec.row("mcp-server").health == STALE
    finally:
        live.stop()
    assert not live.watcher.alive


def test_the_screens_first_listing_starts_the_log_readers_before_the_watcher_lists():
    """start(known): the containers the screen already drew are followed at once; the watcher's
    own first listing (a request on its thread) no longer comes first."""
    from stacktui.core.live.logs import LogHub
    from stacktui.core.live.watcher import Snapshot

    class Gone(Exception):
        status_code = 404

    class NoEngine:  # every follower finds its container gone at once: nothing is read
        socket_path = None

        def inspect_raw(self, container_id: str) -> dict:
            raise Gone(container_id)

    class IdleWatcher:
        stopped = False
        started = False

        def start(self) -> None:
            self.started = True

    live = LiveStack(probe_interval=None)
    live.hub = LogHub(NoEngine(), live.store)  # type: ignore[arg-type]
    live.watcher = IdleWatcher()  # type: ignore[assignment]
    known = Snapshot([ServiceStatus("vscode", "running", HEALTHY, container_id="c1"),
                      ServiceStatus("mcp-server", "running", HEALTHY, container_id="c2"),
                      ServiceStatus("backend", "exited", HEALTHY)], [])
    assert live.start(known)
    assert live.hub.followed() == {"vscode": "c1", "mcp-server": "c2"} and live.watcher.started
    live.hub.stop(wait=1.0)
