"""HTTP probes: routed as containers name services, in parallel, each bounded, on an interval (127.0.0.1 only)."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from stacktui.core.engine.client import ContainerInfo, PublishedPort
from stacktui.core.compose.model import Extension, Project, ServiceSpec
from stacktui.core.health.probes import ProbeScheduler, probe_all, route
from tests.waiting import until

PARALLEL = 8


class Handler(BaseHTTPRequestHandler):
    barrier: threading.Barrier

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        code = 200
        if self.path == "/together":
            # Answers only once PARALLEL requests are in at the same time: serial probing cannot pass.
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                code = 500
        elif self.path == "/slow":
            time.sleep(1.5)
        elif self.path == "/broken":
            code = 503
        try:
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the probe gave up (timeout) before the answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    Handler.barrier = threading.Barrier(PARALLEL, timeout=10)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def container(service: str, ports: list[PublishedPort] = (), state: str = "running",
              network_mode: str = "bridge", ips: dict[str, str] | None = None) -> ContainerInfo:
    return ContainerInfo(id=f"{service}-id", name=f"p-{service}-1", project="p", service=service, number=1,
                         state=state, exit_code=0, oom_killed=False, health=None, health_output=None,
                         started_at=None, finished_at=None, network_mode=network_mode, ipc_mode="private",
                         pid_mode="", pid=0, restart_count=0, ports=list(ports), ip_addresses=ips or {})


def spec(name: str, health: str | None = None, network_mode: str | None = None) -> ServiceSpec:
    return ServiceSpec(name=name, image="x", network_mode=network_mode, x=Extension(health=health))


def project(*specs: ServiceSpec) -> Project:
    return Project(name="p", working_dir=Path("."), files=[], services={s.name: s for s in specs})


def test_probes_run_in_parallel(server):
    names = [f"s{i}" for i in range(PARALLEL)]
    proj = project(*(spec(n, f"http://{n}:80/together") for n in names))
    containers = [container(n, [PublishedPort(80, "tcp", "127.0.0.1", server)]) for n in names]
    results = probe_all(proj, containers, timeout=15)
    assert list(results) == names
    assert [r.status_code for r in results.values()] == [200] * PARALLEL
    assert all(r.ok and r.reached_via == f"host port 127.0.0.1:{server}" for r in results.values())


def test_each_probe_says_its_route_and_fails_on_its_own(server):
    owner_ports = [PublishedPort(9001, "tcp", "127.0.0.1", server), PublishedPort(9002, "tcp", "", server),
                   PublishedPort(9003, "tcp", "127.0.0.1", server)]
    proj = project(
        spec("owner"),
        spec("joiner", "http://owner:9001/health", network_mode="service:owner"),
        spec("broken", "http://owner:9002/broken"),
        spec("slow", "http://owner:9003/slow"),
        spec("orphan", "http://gone:80/health"),
        spec("gone"),
        spec("outside", f"http://127.0.0.1:{server}/health"),
    )
    containers = [container("owner", owner_ports), container("joiner", network_mode="container:owner-id"),
                  container("gone", state="exited")]
    results = probe_all(proj, containers, timeout=0.5)
    assert list(results) == ["joiner", "broken", "slow", "orphan", "outside"]  # declared order, probes only
    assert results["joiner"].ok and results["joiner"].reached_via == f"host port 127.0.0.1:{server}"
    assert not results["broken"].ok and results["broken"].error == "HTTP 503"
    assert not results["slow"].ok and "Timeout" in results["slow"].error
    assert not results["orphan"].ok and "gone" in results["orphan"].error and "not running" in results["orphan"].error
    assert results["outside"].ok and results["outside"].reached_via == "as written"


def test_route_through_the_namespace_owner_else_the_container_address():
    proj = project(spec("vscode"), spec("mcp", network_mode="service:vscode"), spec("api"))
    containers = [container("vscode", [PublishedPort(9001, "tcp", "0.0.0.0", 19001)], ips={"default": "172.30.0.2"}),
                  container("mcp", network_mode="container:vscode-id"),
                  container("api", ips={"default": "172.30.0.3"})]
    r = route(proj, containers, "http://mcp:9001/health")
    assert r.url == "http://127.0.0.1:19001/health"
    assert r.how == "host port 127.0.0.1:19001, published by vscode"
    r = route(proj, containers, "http://mcp:9002/health")
    assert r.url == "http://172.30.0.2:9002/health"
    assert r.how == "container address 172.30.0.2 on default, published by vscode"
    with pytest.raises(LookupError, match=r"not checked: remote engine \(port 8000 of api is not published\)"):
        route(proj, containers, "http://api:8000/", local_engine=False)


def test_scheduler_probes_on_an_interval_without_blocking_the_caller(server):
    proj = project(spec("web", "http://web:80/health"))
    containers = [container("web", [PublishedPort(80, "tcp", "127.0.0.1", server)])]
    rounds: list[dict] = []
    asked = []

    def current() -> list[ContainerInfo]:
        asked.append(1)
        return containers

    # An hour's interval: after the round a start runs, no other comes by itself while the test
    # runs, so each one after it is the doing of what the test did just before.
    sched = ProbeScheduler(proj, current, rounds.append, interval=3600, timeout=2).start()
    try:
        until(lambda: len(rounds) == 1, 10, "the round a start runs at once")
        sched.probe_now()
        until(lambda: len(rounds) == 2, 10, "the round probe_now asked for")
        assert all(r["web"].ok for r in rounds)
        sched.interval = 0.05  # user-settable while it runs: the new interval counts at once
        until(lambda: len(rounds) >= 5, 10, "rounds at the new interval")
    finally:
        sched.stop()
    assert not sched.running
    assert len(asked) >= len(rounds)  # the containers are read again every round: routes follow restarts
    with pytest.raises(ValueError):
        sched.interval = 0


def test_scheduler_survives_an_engine_error():
    proj = project(spec("web", "http://web:80/health"))
    errors: list[Exception] = []
    calls = []

    def failing() -> list[ContainerInfo]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("engine went away")
        return []

    results: list[dict] = []
    sched = ProbeScheduler(proj, failing, results.append, interval=0.05, on_error=errors.append).start()
    try:
        until(lambda: results)
    finally:
        sched.stop()
    assert isinstance(errors[0], ConnectionError)
    assert not results[0]["web"].ok and "not running" in results[0]["web"].error


def test_a_remote_engine_s_ports_are_reached_on_its_host_or_not_checked():
    """0.0.0.0 on a remote engine is its host's address; its loopback is out of reach: no verdict, not a failure."""
    from stacktui.core.engine.client import ContainerInfo, PublishedPort
    from stacktui.core.health.probes import NotChecked, probe_all, route
    from stacktui.core.health.status import HEALTHY, combine

    project = Project(name="p", working_dir=Path("."), files=[], services={
        "vscode": ServiceSpec("vscode"),
        "mcp": ServiceSpec("mcp", network_mode="service:vscode", x=Extension(health="http://vscode:9001/health"))})

    def owner(host_ip: str) -> ContainerInfo:
        return ContainerInfo(id="v" * 64, name="p-vscode-1", project="p", service="vscode", number=1,
                             state="running", exit_code=0, oom_killed=False, health="healthy", health_output=None,
                             started_at=None, finished_at=None, network_mode="bridge", ipc_mode="", pid_mode="",
                             pid=0, restart_count=0, ports=[PublishedPort(9001, "tcp", host_ip, 19001)],
                             ip_addresses={"p_default": "10.9.0.2"})

    url = "http://vscode:9001/health"
    assert route(project, [owner("0.0.0.0")], url, False, "10.1.2.3").url == "http://10.1.2.3:19001/health"
    assert route(project, [owner("127.0.0.1")], url, False, "127.0.0.1").url == "http://127.0.0.1:19001/health"
    for host_ip, engine_host in (("127.0.0.1", "10.1.2.3"), ("0.0.0.0", None)):
        with pytest.raises(NotChecked, match="not checked: remote engine"):
            route(project, [owner(host_ip)], url, False, engine_host)
    result = probe_all(project, [owner("127.0.0.1")], local_engine=False, engine_host="10.1.2.3")["mcp"]
    assert not result.checked and not result.ok
    mcp = owner("")
    word, reasons = combine(mcp, True, result, None)
    assert word == HEALTHY and any("not checked: remote engine" in r for r in reasons)
