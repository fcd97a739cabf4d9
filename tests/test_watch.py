"""The live model: engine events in, status rows out, with no polling and with reconnects.

The engine "going away" is played by a unix-socket proxy in front of the shared
engine that the test closes and reopens: the engine itself is never touched.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.client import Engine
from stacktui.core.loader import load_project
from stacktui.core.live.watcher import Connection, EngineEvent, Snapshot, Watcher, parse_event
from tests.waiting import until


class SocketProxy:
    """Forwards a unix socket to the engine's; `down()` drops every connection, `up()` listens again."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.dir = tempfile.mkdtemp(prefix="stkp")
        self.path = os.path.join(self.dir, "engine.sock")
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    def up(self) -> "SocketProxy":
        if os.path.exists(self.path):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.connect(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def engine_at(host: str) -> Engine:
    import docker

    return Engine(docker.DockerClient(base_url=host, timeout=10), host)


class Recorder:
    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.events: list[EngineEvent] = []
        self.connections: list[Connection] = []

    def row(self, service: str):
        snap = self.snapshots[-1] if self.snapshots else None
        return next((r for r in snap.rows if r.service == service), None) if snap else None

    def wait(self, predicate, timeout: float = 20.0, what: str = "condition") -> None:
        try:
            until(predicate, timeout, what)
        except AssertionError as exc:
            last = [(r.service, r.state, r.health) for r in self.snapshots[-1].rows] if self.snapshots else None
            raise AssertionError(f"{exc}; last rows: {last}") from None


def watch(project, engine, rec: Recorder, **kwargs) -> Watcher:
    return Watcher(project, engine, on_snapshot=rec.snapshots.append, on_event=rec.events.append,
                   on_connection=rec.connections.append, **kwargs).start()


class CountingEngine:
    """The real engine, counting full listings: state must come from events, not from polling."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.listings = 0

    def project_containers(self, *args, **kwargs):
        self.listings += 1
        return self._engine.project_containers(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


def load(stack):
    return load_project(resolve_target([str(stack.file)], None, None, [], [], cwd=stack.dir))


def test_rows_follow_engine_events_without_polling(demo_stack, engine):
    project = load(demo_stack)
    counting = CountingEngine(engine)
    rec = Recorder()
    watcher = watch(project, counting, rec, probe_interval=None)
    try:
        rec.wait(lambda: rec.row("mcp-server") and rec.row("mcp-server").health == "healthy", what="healthy")
        assert [r.service for r in rec.snapshots[-1].rows] == ["vscode", "mcp-server", "backend"]
        assert rec.row("mcp-server").namespace_owner == "vscode"
        mcp = demo_stack.container(engine, "mcp-server")
        demo_stack.compose("stop", "-t", "2", "mcp-server")
        rec.wait(lambda: rec.row("mcp-server").state.startswith("exited"), what="mcp-server exited")
        assert rec.row("mcp-server").health == "down"
        # The row shows the death from the event at once; listeners hear the event after the inspect
        # that follows it (150-500 ms later), so it is waited for, not expected in the same instant.
        rec.wait(lambda: any(e.action == "die" and e.service == "mcp-server" and e.container_id == mcp.id
                             for e in rec.events), what="mcp-server's die event")
        demo_stack.compose("start", "mcp-server")
        rec.wait(lambda: rec.row("mcp-server").state == "running", what="mcp-server running again")
        assert counting.listings == 1  # one listing at connect; everything after came from events
        assert rec.connections == [Connection(True)]
    finally:
        watcher.stop()
    assert not watcher.alive


def test_engine_gone_is_reported_and_the_watcher_reconnects_to_the_current_state(demo_stack, engine):
    project = load(demo_stack)
    proxy = SocketProxy(engine.socket_path).up()
    via_proxy = engine_at(proxy.host)
    rec = Recorder()
    watcher = watch(project, via_proxy, rec, probe_interval=None, backoff=(0.2, 1.0))
    try:
        rec.wait(lambda: rec.row("backend") and rec.row("backend").state == "running", what="first rows")
        proxy.down()
        rec.wait(lambda: rec.connections and not rec.connections[-1].connected, what="disconnected")
        lost = rec.connections[-1]
        assert lost.retry_in is not None and lost.attempt >= 1
        # While the engine is "away", the stack changes; the watcher must not miss it.
        demo_stack.compose("stop", "-t", "2", "backend")
        # ... and it keeps trying, each wait twice the last, up to the cap (backoff=(0.2, 1.0)); the
        # first retry is silent and at once (a stream may end for reasons of its own).
        rec.wait(lambda: rec.connections[-1].attempt >= 6, what="six attempts while away")
        tries = [(c.attempt, c.retry_in) for c in rec.connections if not c.connected][:5]
        assert tries == [(2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (6, 1.0)], tries
        proxy.up()
        rec.wait(lambda: rec.connections[-1].connected, what="reconnected")
        rec.wait(lambda: rec.row("backend").state.startswith("exited"), what="the stop seen after reconnecting")
        # Not only listed again: the event stream itself resumed, so a start now arrives as an event.
        seen = len(rec.events)
        demo_stack.compose("start", "backend")
        rec.wait(lambda: any(e.action == "start" and e.service == "backend" for e in rec.events[seen:]),
                 what="backend's start as an event after the reconnect")
        rec.wait(lambda: rec.row("backend").state == "running", what="backend running in the rows")
    finally:
        watcher.stop()
        proxy.down()
        via_proxy.close()


def test_event_json_is_parsed_and_noise_is_dropped():
    base = {"Type": "container", "id": "c1", "timeNano": 5,
            "Actor": {"ID": "c1", "Attributes": {"com.docker.compose.service": "api", "exitCode": "137"}}}
    assert parse_event({**base, "Action": "die"}) == EngineEvent("die", "api", "c1", 5, "137")
    assert parse_event({**base, "Action": "health_status: unhealthy"}) == \
        EngineEvent("health_status", "api", "c1", 5, "unhealthy")
    assert parse_event({**base, "Action": "exec_start: wget -q"}) is None
    oneoff = {**base, "Action": "start",
              "Actor": {"ID": "c1", "Attributes": {"com.docker.compose.oneoff": "True"}}}
    assert parse_event(oneoff) is None
