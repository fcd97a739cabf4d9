"""Who listens where inside a shared network namespace, on the real engine (tests/data/sameport)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.ports.live import (EXEC, PROC, Listener, live_findings, namespace_listeners, parse_proc_net,
                                      recent_conflict_lines)
from stacktui.core.loader import load_project
from tests.waiting import until

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def sameport(stack_factory):
    """Two members of one namespace that both want 8000: first holds it, second's httpd logs the bind error."""
    stack = stack_factory(str(DATA / "sameport"), ("SAMEPORT_PORT",))
    stack.up()
    until(lambda: "Address already in use" in stack.compose("logs", "--no-color", "second").stdout, 30,
          "second's bind error in its log", step=0.2)
    return stack


def test_the_holder_of_a_port_is_found_from_proc_and_with_exec(sameport, engine):
    project = load_project(resolve_target([], cwd=sameport.dir, environ={}))
    containers = engine.project_containers(sameport.name)
    first = sameport.container(engine, "first")

    from_proc = namespace_listeners(project, engine, containers, prefer=PROC)
    on_8000 = [l for l in from_proc if l.port == 8000]
    assert [(l.service, l.container_id, l.process, l.via, l.namespace) for l in on_8000] == [
        ("first", first.id, "httpd", PROC, "first")]
    # A host PID: /proc on this host says it is httpd, in first's network namespace.
    assert Path(f"/proc/{on_8000[0].pid}/comm").read_text().strip() == "httpd"
    assert on_8000[0].netns == str(Path(f"/proc/{first.pid}/ns/net").readlink())
    assert not [l for l in from_proc if l.service == "second"]  # its bind failed

    from_exec = namespace_listeners(project, engine, containers, prefer=EXEC)
    assert [(l.service, l.process, l.via) for l in from_exec if l.port == 8000] == [("first", "httpd", EXEC)]


def test_check_reports_the_conflict_with_the_holder_and_the_log_line(sameport):
    done = sameport.stacktui("check", "--json")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    live = [f for f in findings if f["kind"] == "namespace-port-conflict"]
    assert [(f["service"], f["port"]) for f in live] == [("second", 8000)]
    message = live[0]["message"]
    assert "first's httpd (pid " in message and "seen in /proc" in message
    assert "httpd: bind: Address already in use" in message
    assert live[0]["file"] is None  # seen live, not written in a file
    # The files said so before anything ran: both declare 8000 (with the line).
    listeners = json.loads(done.stdout)["listeners"]
    assert [(l["service"], l["port"], l["process"], l["via"]) for l in listeners] == [("first", 8000, "httpd", "proc")]
    static = [f for f in findings if f["kind"] == "duplicate-listen"]
    assert [(f["service"], f["port"], f["file"]) for f in static] == [("second", 8000, "compose.yaml")]


class StampedLogs:
    """A container's log as the engine keeps it: each line with its time; `since=` keeps those at or after it."""

    def __init__(self, *entries: tuple[datetime, str]) -> None:
        self.entries = entries

    def logs_tail(self, container_id: str, lines: int = 20, since: float | None = None) -> list[str]:
        return [text for at, text in self.entries if since is None or at.timestamp() >= since][-lines:]


def running_since(started: datetime, finished: datetime | None):
    from stacktui.core.engine.client import ContainerInfo

    return ContainerInfo(id="second-id", name="p-second-1", project="p", service="second", number=1, state="running",
                         exit_code=0, oom_killed=False, health=None, health_output=None, started_at=started,
                         finished_at=finished, network_mode="container:first-id", ipc_mode="", pid_mode="", pid=0,
                         restart_count=0)


def test_a_bind_error_printed_as_the_process_starts_is_its_runs_even_when_stamped_before_the_start():
    """The engine stamps StartedAt once the process runs: sameport's second had its bind error stamped
    0.2 ms before its StartedAt here. When a second's boundary falls between the two, reading the log
    from StartedAt's second lost the line. The previous run's lines stay out."""
    started = datetime(2026, 12, 7, 20, 59, 13, 100, tzinfo=timezone.utc)
    error = "httpd: bind: Address already in use"
    first_run = StampedLogs((started - timedelta(microseconds=300), error))
    assert recent_conflict_lines(first_run, running_since(started, None)) == [error]

    ended = started - timedelta(seconds=1)
    again = StampedLogs((ended - timedelta(milliseconds=400), f"{error} (the run before)"),
                        (started - timedelta(microseconds=300), error))
    assert recent_conflict_lines(again, running_since(started, ended)) == [error]


PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:A217 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19477 1 0000 100 0 0 10 0
   1: 0100007F:930E 0100007F:1F90 06 00000000:00000000 03:00000302 00000000     0        0 0 3 0000
   2: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20001 1 0000 100 0 0 10 0
"""
PROC_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19528 1 0000 100 0 0 10 0
   1: 00000000000000000000000001000000:2329 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19613 1 0000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19614 1 0000 100 0 0 10 0
"""


def test_parse_proc_net_listening_rows_only():
    assert parse_proc_net(PROC_TCP) == [("127.0.0.11", 0xA217, 19477), ("0.0.0.0", 8000, 20001)]
    assert parse_proc_net(PROC_TCP6) == [("::", 8080, 19528), ("::1", 9001, 19613), ("127.0.0.1", 9000, 19614)]


class NoLogs:
    def logs_tail(self, container_id: str, lines: int = 20, since: int | None = None) -> list[str]:
        return []

    def is_local(self) -> bool:
        return True


def test_two_members_holding_one_port_and_a_declared_port_held_by_another():
    from stacktui.core.engine.client import ContainerInfo
    from stacktui.core.compose.model import Extension, Project, ServiceSpec

    services = {
        "owner": ServiceSpec(name="owner", x=Extension(listens=(8080,))),
        "a": ServiceSpec(name="a", network_mode="service:owner", x=Extension(listens=(9001,))),
        "b": ServiceSpec(name="b", network_mode="service:owner", x=Extension(listens=(9001,))),
    }
    project = Project(name="p", working_dir=Path("."), files=[], services=services)
    containers = [ContainerInfo(id=f"{s}-id", name=f"p-{s}-1", project="p", service=s, number=1, state="running",
                                exit_code=0, oom_killed=False, health=None, health_output=None, started_at=None,
                                finished_at=None, network_mode="bridge", ipc_mode="", pid_mode="", pid=0,
                                restart_count=0) for s in services]
    listeners = [Listener("owner", "owner-id", 8080, "tcp", 10, "httpd", PROC, "::", "owner", "net:[1]"),
                 Listener("a", "a-id", 9001, "tcp", 11, "node", PROC, "0.0.0.0", "owner", "net:[1]"),
                 Listener("owner", "owner-id", 9001, "tcp", 12, "python", PROC, "::", "owner", "net:[1]")]
    found = live_findings(project, NoLogs(), containers, listeners)
    assert [(f.service, f.port) for f in found] == [("owner", 9001), ("b", 9001)]
    assert "a's node (pid 11) and owner's python (pid 12) all listen on 9001" in found[0].message
    assert found[1].message.startswith("b declares 9001, but a's node (pid 11) holds it")


def test_without_proc_or_exec_the_declared_ports_are_said_to_be_unknown():
    from stacktui.core.engine.client import ContainerInfo
    from stacktui.core.ports.live import UNKNOWN
    from stacktui.core.compose.model import Extension, Project, ServiceSpec

    class RemoteNoExec:
        def is_local(self) -> bool:
            return False

        def exec(self, container_id, cmd, timeout=10):
            raise RuntimeError("exec refused")

    services = {"owner": ServiceSpec(name="owner", x=Extension(listens=(8080,))),
                "joiner": ServiceSpec(name="joiner", network_mode="service:owner", x=Extension(listens=(9001,))),
                "alone": ServiceSpec(name="alone", x=Extension(listens=(7000,)))}
    project = Project(name="p", working_dir=Path("."), files=[], services=services)
    containers = [ContainerInfo(id=f"{s}-id", name=f"p-{s}-1", project="p", service=s, number=1, state="running",
                                exit_code=0, oom_killed=False, health=None, health_output=None, started_at=None,
                                finished_at=None, network_mode="bridge", ipc_mode="", pid_mode="", pid=4242,
                                restart_count=0) for s in services]
    found = namespace_listeners(project, RemoteNoExec(), containers)
    # Only shared namespaces; nothing observed, so no process and no PID, and `via` says so.
    assert [(l.service, l.port, l.pid, l.process, l.via) for l in found] == [
        ("owner", 8080, None, None, UNKNOWN), ("joiner", 9001, None, None, UNKNOWN)]


@pytest.mark.parametrize("line, port", [
    ("httpd: bind: Address already in use", None),
    ("2024/05/01 12:30:45 listen tcp :9001: bind: address already in use", 9001),
    ("[12:30:45.123] OSError: [Errno 98] Address already in use", None),
    ("Error: listen EADDRINUSE: address already in use :::9002", 9002),
    ("could not bind port 7000: address in use", 7000),
])
def test_the_port_a_bind_error_names(line, port):
    from stacktui.core.ports.live import IN_USE, bind_error_port

    assert IN_USE.search(line)
    assert bind_error_port(line) == port
