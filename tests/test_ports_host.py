"""Host port findings, attribution rules (unit tests: given listeners and a fake engine's container list)."""
from __future__ import annotations

from pathlib import Path

from stacktui.core.ports import host as hostports
from stacktui.core.findings import PORT_IN_USE, PORT_TAKEN_BY_CONTAINER, WARNING
from stacktui.core.ports.host import HostListener, host_findings
from stacktui.core.compose.model import PortSpec, Project, ServiceSpec


class FakeApi:
    def __init__(self, summaries: list[dict]) -> None:
        self.summaries = summaries

    def containers(self, all: bool = False) -> list[dict]:
        return self.summaries


class FakeEngine:
    def __init__(self, summaries: list[dict], local: bool = True) -> None:
        self.api = FakeApi(summaries)
        self.local = local

    def is_local(self) -> bool:
        return self.local

    def containers(self, *, all: bool = True, filters: dict | None = None) -> list[dict]:
        return self.api.containers(all=all)


def summary(cid: str, project: str, service: str, ip: str, port: int, proto: str = "tcp") -> dict:
    return {"Id": cid, "Names": [f"/{project}-{service}-1"],
            "Labels": {"com.docker.compose.project": project, "com.docker.compose.service": service},
            "Ports": [{"IP": ip, "PrivatePort": 80, "PublicPort": port, "Type": proto}]}


def proxy(ip: str, port: int, pid: int = 900) -> HostListener:
    return HostListener(ip, port, "tcp", pid, "docker-proxy",
                        ("/usr/sbin/docker-proxy", "-proto", "tcp", "-host-ip", ip, "-host-port", str(port),
                         "-container-ip", "172.17.0.2", "-container-port", "80"))


PROJECT = Project(name="mine", working_dir=Path("."), files=[], services={
    "web": ServiceSpec(name="web", ports=[PortSpec(80, "18080", "127.0.0.1"), PortSpec(53, "15353", "", "udp")]),
    "api": ServiceSpec(name="api", ports=[PortSpec(8000, "18000", "")]),
})


def test_the_stacks_own_docker_proxy_is_not_a_conflict():
    engine = FakeEngine([summary("c-web", "mine", "web", "127.0.0.1", 18080)])
    assert host_findings(PROJECT, engine, [], listeners=[proxy("127.0.0.1", 18080)]) == []


def test_another_projects_container_is_named_once():
    engine = FakeEngine([summary("c-other", "other", "vscode", "127.0.0.1", 18080)])
    found = host_findings(PROJECT, engine, [], listeners=[proxy("127.0.0.1", 18080)])
    assert [(f.kind, f.service, f.port) for f in found] == [(PORT_TAKEN_BY_CONTAINER, "web", 18080)]
    assert "container other-vscode-1 (service vscode of project other)" in found[0].message
    # Without the userland proxy there is no host process at all: the engine's list still tells.
    assert len(host_findings(PROJECT, engine, [], listeners=[])) == 1


def test_a_process_outside_the_stack_is_named_with_its_pid():
    found = host_findings(PROJECT, FakeEngine([]), [], listeners=[
        HostListener("0.0.0.0", 18080, "tcp", 4242, "python", ()),  # every address covers 127.0.0.1
        HostListener("127.0.0.2", 18000, "tcp", 4243, "nginx", ()),  # api publishes on every address
        HostListener("127.0.0.1", 15353, "tcp", 4244, "dnsmasq", ()),  # tcp: web publishes 15353 udp
        HostListener("127.0.0.1", 15353, "udp", None, None, ()),
    ])
    assert [(f.kind, f.service, f.port) for f in found] == [
        (PORT_IN_USE, "web", 18080), (PORT_IN_USE, "web", 15353), (PORT_IN_USE, "api", 18000)]
    assert "python (pid 4242) already holds it" in found[0].message
    assert "cannot see" in found[1].message
    assert "nginx (pid 4243)" in found[2].message


def test_a_proxy_for_a_container_of_another_engine():
    found = host_findings(PROJECT, FakeEngine([]), [], listeners=[proxy("127.0.0.1", 18080)])
    assert [f.kind for f in found] == [PORT_TAKEN_BY_CONTAINER]
    assert "docker-proxy (pid 900)" in found[0].message and "another Docker engine" in found[0].message


def test_only_the_services_asked_for(monkeypatch):
    listeners = [HostListener("127.0.0.1", 18080, "tcp", 1, "python", ()),
                 HostListener("127.0.0.1", 18000, "tcp", 2, "python", ())]
    found = host_findings(PROJECT, FakeEngine([]), [], services=["api"], listeners=listeners)
    assert [f.service for f in found] == ["api"]


def test_a_remote_engine_is_not_checked_against_this_hosts_sockets(monkeypatch):
    def must_not_run():
        raise AssertionError("read this host's sockets for a remote engine")

    monkeypatch.setattr(hostports, "host_listeners", must_not_run)
    engine = FakeEngine([summary("c-other", "other", "vscode", "", 18000)], local=False)
    found = host_findings(PROJECT, engine, [])
    assert [(f.kind, f.service) for f in found] == [(PORT_TAKEN_BY_CONTAINER, "api")]


def test_when_the_os_hides_sockets_a_bind_test_still_tells(monkeypatch):
    import socket

    monkeypatch.setattr(hostports, "host_listeners", lambda: None)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        project = Project(name="mine", working_dir=Path("."), files=[], services={
            "web": ServiceSpec(name="web", ports=[PortSpec(80, str(port), "127.0.0.1")])})
        found = host_findings(project, FakeEngine([]), [])
    assert [(f.kind, f.port) for f in found] == [(PORT_IN_USE, port)]
    assert "cannot see" in found[0].message


def test_a_port_the_files_moved_but_an_old_container_of_the_stack_still_holds():
    # After a layout change 18000 belongs to api in the files; web's running container still has it.
    engine = FakeEngine([summary("c-web", "mine", "web", "0.0.0.0", 18000)])
    found = host_findings(PROJECT, engine, [], listeners=[proxy("0.0.0.0", 18000)])
    assert [(f.severity, f.kind, f.service, f.port) for f in found] == [
        (WARNING, PORT_TAKEN_BY_CONTAINER, "api", 18000)]
    assert "running web container (mine-web-1) still holds it" in found[0].message
    assert "recreate web first" in found[0].hint


def test_with_sockets_hidden_the_stacks_own_ports_are_not_bind_tested(monkeypatch):
    monkeypatch.setattr(hostports, "host_listeners", lambda: None)
    monkeypatch.setattr(hostports, "bind_test", lambda *a: True)  # as if every port were taken
    engine = FakeEngine([summary("c-web", "mine", "web", "127.0.0.1", 18080)])
    found = host_findings(PROJECT, engine, [])
    assert sorted(f.port for f in found) == [15353, 18000]  # not 18080: web's own container holds it
