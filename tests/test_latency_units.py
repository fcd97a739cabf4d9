"""Latency without an engine: which ports listen and who calls them, the figures, the helper's asks.

The helper is run in this process against listeners this test opens on 127.0.0.1 (a job without
a namespace asks from where it runs); the real namespaces are in tests/test_latency.py.
"""
from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

from stacktui.core.compose.model import Extension, PortSpec, Project, ServiceSpec
from stacktui.core.latency import helper
from stacktui.core.latency.dns import a_records, nameservers, query
from stacktui.core.latency.figures import Figure, percentile
from stacktui.core.latency.paths import Listening, Use, listening, uses


def demo(shared: bool = True) -> Project:
    mcp = ServiceSpec("mcp-server", network_mode="service:vscode" if shared else None,
                      x=Extension(health=f"http://{'vscode' if shared else 'mcp-server'}:9001/health",
                                  listens=(9001, 9002)))
    vscode_ports = [PortSpec(8080, "18080"), *([PortSpec(9001, "19001"), PortSpec(9002, "19002")] if shared else [])]
    return Project("demo", Path("/srv/demo"), [Path("/srv/demo/compose.yaml")], {
        "vscode": ServiceSpec("vscode", ports=vscode_ports, x=Extension(listens=(8080,))),
        "mcp-server": mcp if shared else ServiceSpec("mcp-server", ports=[PortSpec(9001, "19001")], x=mcp.x),
        "backend": ServiceSpec("backend", environment={
            "MCP_SERVER_URL": f"http://{'vscode' if shared else 'mcp-server'}:9001/health",
            "AUDIT_URL": "https://audit.example.com/v1", "AT": "12:30", "CACHE": "127.0.0.2:6379",
            "SELF": "http://localhost:7000/"}),
    })


def test_ports_belong_to_who_declares_them_and_the_health_url_gives_its_path():
    assert listening(demo()) == [Listening("vscode", 8080, "vscode"),
                                 Listening("mcp-server", 9001, "vscode", "/health"),
                                 Listening("mcp-server", 9002, "vscode")]
    assert listening(demo(shared=False), ["mcp-server"]) == [Listening("mcp-server", 9001, "mcp-server", "/health"),
                                                            Listening("mcp-server", 9002, "mcp-server")]


def test_an_unclaimed_published_port_is_its_namespace_owners():
    project = Project("p", Path("/p"), [], {"web": ServiceSpec("web", ports=[PortSpec(80, "8000")])})
    assert listening(project) == [Listening("web", 80, "web")]


def test_dependants_come_from_urls_naming_a_service_and_other_hosts_are_only_listed():
    found, foreign = uses(demo())
    assert found == [Use("backend", "vscode", 9001, "environment MCP_SERVER_URL")]
    # A time of day is no address; the caller's own localhost is its own namespace, not a foreign host.
    assert sorted(s.host for s in foreign) == ["127.0.0.2", "audit.example.com"]
    assert "backend's environment CACHE names 127.0.0.2, not a service of the stack: not measured" in \
        [s.words() for s in foreign]


def test_percentiles_are_nearest_rank_and_words_say_the_failures():
    samples = [float(v) for v in range(1, 101)]
    assert [percentile(samples, q) for q in (0.5, 0.95, 0.99)] == [50.0, 95.0, 99.0]
    f = Figure.from_samples("connect", 103, samples, 2, {"Connection refused": 2}, 1)
    assert (f.p50, f.max, f.ok, f.failed, f.not_run) == (50.0, 100.0, 100, 2, 1)
    assert f.words() == ("p50 50 ms, p95 95, p99 99, max 100 (100 ok, 2 FAILED (Connection refused x2), "
                         "1 not run (time limit))")


def test_a_dns_answer_gives_its_a_records_and_resolv_conf_its_nameservers():
    ident, packet = query("vscode")
    answer = (struct.pack(">HHHHHH", ident, 0x8180, 1, 2, 0, 0) + packet[12:]
              + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 600, 4) + socket.inet_aton("172.18.0.2")
              + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 600, 4) + socket.inet_aton("172.18.0.3"))
    assert a_records(answer, ident) == ["172.18.0.2", "172.18.0.3"]
    assert a_records(answer, ident ^ 1) == []  # not the answer to our question
    assert nameservers("search x\nnameserver 127.0.0.11\noptions ndots:0\n") == ["127.0.0.11"]


def _server(status: bytes) -> tuple[socket.socket, list[int]]:
    """A listener on 127.0.0.1 answering every connection with `status`; counts the connections."""
    sock = socket.create_server(("127.0.0.1", 0))
    seen = [0]

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            seen[0] += 1
            with conn:
                conn.settimeout(1)
                try:
                    if conn.recv(1024):
                        conn.sendall(b"HTTP/1.0 " + status + b"\r\n\r\nok")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return sock, seen


def test_the_helper_times_every_ask_and_counts_the_failed_ones():
    good, seen = _server(b"200 OK")
    bad, _ = _server(b"503 Unavailable")
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    try:
        out = helper.run({"count": 20, "spread": 0.2, "deadline": 20, "request_timeout": 1, "paths": [
            {"id": 0, "address": "127.0.0.1", "port": good.getsockname()[1], "http": "/health"},
            {"id": 1, "address": "127.0.0.1", "port": bad.getsockname()[1], "http": "/health"},
            {"id": 2, "address": "127.0.0.1", "port": refused_port, "http": None}]})
    finally:
        good.close()
        bad.close()
    ok, unavailable, refused = out["paths"]
    assert len(ok["connect"]["ms"]) == 20 and len(ok["http"]["ms"]) == 20 and seen[0] == 40
    assert all(v > 0 for v in ok["connect"]["ms"] + ok["http"]["ms"])
    assert unavailable["http"] == {"ms": [], "failed": 20, "errors": {"HTTP 503": 20}}
    assert refused["connect"]["failed"] == 20 and "http" not in refused
    assert list(refused["connect"]["errors"]) == ["Connection refused"]


def test_the_helper_stops_at_its_deadline_and_says_what_was_not_run():
    good, _ = _server(b"200 OK")
    try:
        out = helper.run({"count": 50, "spread": 10.0, "deadline": 0.3, "paths": [
            {"id": 0, "address": "127.0.0.1", "port": good.getsockname()[1], "http": None}]})
    finally:
        good.close()
    path = out["paths"][0]
    assert path["not_run"] > 0
    assert len(path["connect"]["ms"]) + path["connect"]["failed"] + path["not_run"] == 50


class RemoteEngine:
    """An engine on another machine: its containers are listed, its namespaces are out of reach."""

    def __init__(self, containers: list) -> None:
        self.containers = containers

    def is_local(self) -> bool:
        return False

    def project_containers(self, project: str) -> list:
        return self.containers


def container(service: str, state: str = "running", exit_code: int = 0):
    from stacktui.core.engine.client import ContainerInfo

    return ContainerInfo.from_inspect({
        "Id": f"id-{service}", "Name": f"/demo-{service}-1",
        "Config": {"Labels": {"com.docker.compose.project": "demo", "com.docker.compose.service": service}},
        "State": {"Status": state, "Pid": 4242 if state == "running" else 0, "ExitCode": exit_code},
        "NetworkSettings": {"Networks": {"demo_default": {"IPAddress": f"172.30.0.{len(service)}"}}}})


def test_on_a_remote_engine_every_path_says_it_needs_the_engines_machine():
    from stacktui.core.latency.measure import measure

    report = measure(demo(), RemoteEngine([container(s) for s in ("vscode", "mcp-server", "backend")]),
                     ["mcp-server"])
    assert [(p.port, p.kind) for p in report.paths] == [(9001, "namespace"), (9001, "bridge"), (9002, "namespace")]
    assert {p.not_measured for p in report.paths} == {"not measured: needs the engine's own machine"}
    assert all(p.connect is None for p in report.paths) and report.ok


def test_a_stopped_service_or_owner_is_said_and_nothing_is_measured():
    from stacktui.core.latency.measure import measure

    report = measure(demo(), RemoteEngine([container("vscode", "exited", 137), container("mcp-server"),
                                           container("backend")]), ["mcp-server"])
    assert report.paths == [] and not report.ok
    assert report.lines()[0:1] == ["vscode, whose network namespace mcp-server lives in, is exited (exit code 137): "
                              "nothing to measure (start it: `stacktui restart vscode`)"]
