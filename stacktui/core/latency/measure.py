"""Measure the paths: one helper process per caller namespace (and one for the host), all at once.

Only the stack's own containers and published ports are contacted: a namespace path asks
127.0.0.1 inside the service's own namespace, a bridge path asks the name the dependant
writes of the engine's DNS inside the dependant's namespace and goes on only when the answer
is the address of one of the stack's containers, a host path asks the port the engine says
the stack's container publishes. On a remote engine nothing is measured: the namespaces and
the published loopback ports are on its own machine.
"""
from __future__ import annotations

import functools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from stacktui.core import proc
from stacktui.core.loop import Loop
from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.errors import ConfigError
from stacktui.core.latency.dns import ENGINE_DNS, nameservers
from stacktui.core.latency.figures import BRIDGE, HOST, NAMESPACE, Figure, LatencyReport, PathResult
from stacktui.core.latency.helper import BOOT
from stacktui.core.latency.paths import Listening, listening, uses
from stacktui.core.namespaces.groups import namespace_root, network_groups

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

DEFAULT_COUNT = 200
DEFAULT_SPREAD = 2.0  # seconds the asks of one path are spread over
DEFAULT_TIMEOUT = 10.0  # seconds the whole measurement may take
REQUEST_TIMEOUT = 1.0
RESULTS_MARGIN = 0.2  # seconds of the limit kept for the helpers to answer and exit
REMOTE = "not measured: needs the engine's own machine"
ROOT = str(Path(__file__).resolve().parents[3])  # the folder stacktui/ is in, for the helper's sys.path


@dataclass
class _Job:
    netns: str | None
    until: float | None = None  # time.time() by which its asks stop: the measurement's own limit
    specs: list[dict[str, Any]] = field(default_factory=list)
    results: list[PathResult] = field(default_factory=list)


def _running(containers: list[ContainerInfo]) -> dict[str, ContainerInfo]:
    out: dict[str, ContainerInfo] = {}
    for c in sorted(containers, key=lambda c: c.number):
        if c.state == "running" and c.pid > 0 and c.service not in out:
            out[c.service] = c
    return out


def _stopped_words(service: str, containers: list[ContainerInfo], port_of: str | None = None) -> str:
    """`S is exited (exit code 0): nothing to measure`, or for an owner: `O, whose namespace S lives in, ...`."""
    mine = [c for c in containers if c.service == service]
    if not mine:
        state = "has no container"
    else:
        c = mine[0]
        state = f"is {c.state}" + (f" (exit code {c.exit_code})" if c.state == "exited" else "")
    who = f"{service}, whose network namespace {port_of} lives in," if port_of and port_of != service else service
    return f"{who} {state}: nothing to measure (start it: `stacktui restart {service}`)"


def resolver(pid: int) -> str | None:
    """The first nameserver of the container's /etc/resolv.conf, read through /proc/PID/root; None if unreadable."""
    try:
        text = Path(f"/proc/{pid}/root/etc/resolv.conf").read_text(errors="replace")
    except OSError:
        return None
    found = nameservers(text)
    return found[0] if found else None


class Plan:
    """The paths of one measurement, grouped by the namespace they are asked from."""

    def __init__(self, project: Project, containers: list[ContainerInfo], local: bool) -> None:
        self.project = project
        self.containers = containers
        self.running = _running(containers)
        self.local = local
        self.jobs: dict[str | None, _Job] = {}
        self.unmeasured: list[PathResult] = []

    def add(self, result: PathResult, netns: str | None, spec: dict[str, Any] | None, why: str | None = None) -> None:
        if not self.local:
            why = REMOTE
        if why is not None or spec is None:
            result.not_measured = why or "not measured"
            self.unmeasured.append(result)
            return
        job = self.jobs.setdefault(netns, _Job(netns))
        spec["id"] = len(job.specs)
        job.specs.append(spec)
        job.results.append(result)

    def namespace(self, port: Listening) -> None:
        group = network_groups(self.project)[port.owner]
        callers = tuple(m for m in group if m != port.service)
        me = self.running[port.service]
        result = PathResult(port.service, port.port, NAMESPACE, f"{port.service}'s own namespace" if port.owner ==
                            port.service else f"{port.owner}'s namespace, where {port.service} lives",
                            f"localhost:{port.port}", callers, port.http_path)
        self.add(result, f"/proc/{me.pid}/ns/net",
                 {"address": "127.0.0.1", "port": port.port, "http": port.http_path,
                  "host_header": f"localhost:{port.port}"})

    def bridge(self, port: Listening, caller: str, name: str) -> None:
        result = PathResult(port.service, port.port, BRIDGE, caller, f"{name}:{port.port}", (caller,), port.http_path)
        theirs = self.running.get(caller)
        if theirs is None:
            self.add(result, None, None, f"not measured: {caller} is not running")
            return
        dns = resolver(theirs.pid) if self.local else None
        if self.local and dns != ENGINE_DNS:
            self.add(result, None, None, f"not measured: {caller} resolves names through {dns or 'nothing'} "
                                         f"(its /etc/resolv.conf), not the engine's DNS at {ENGINE_DNS}")
            return
        owner = self.running.get(namespace_root(self.project, name))
        allowed = sorted(set(owner.ip_addresses.values())) if owner else []
        self.add(result, f"/proc/{theirs.pid}/ns/net",
                 {"name": name, "dns": dns, "port": port.port, "http": port.http_path, "allowed": allowed})

    def host(self, port: Listening) -> None:
        owner = self.running[port.owner]
        for pub in owner.ports:
            if pub.container_port != port.port or pub.protocol != "tcp":
                continue
            ip = "127.0.0.1" if pub.host_ip in ("", "0.0.0.0") else ("::1" if pub.host_ip == "::" else pub.host_ip)
            where = f"[{ip}]:{pub.host_port}" if ":" in ip else f"{ip}:{pub.host_port}"
            result = PathResult(port.service, port.port, HOST, "the host", where, ("the host",), port.http_path)
            self.add(result, None, {"address": ip, "port": pub.host_port, "http": port.http_path,
                                    "host_header": where})
            return  # one published binding per port is enough: the others are the same proxy


    def run(self, count: int, spread: float, timeout: float) -> list[PathResult]:
        """Every job at once, each in a helper of its own; the paths measured, then those not measured."""
        until = time.time() + timeout - RESULTS_MARGIN
        for job in self.jobs.values():
            job.until = until
        runs = [Loop("stacktui-latency", functools.partial(_run_job, job, count, spread, timeout)).start()
                for job in self.jobs.values()]
        for one in runs:
            one.join()
        return [r for job in self.jobs.values() for r in job.results] + self.unmeasured


def _figure(what: str, data: dict[str, Any] | None, asked: int, not_run: int) -> Figure | None:
    if data is None:
        return None
    return Figure.from_samples(what, asked, data["ms"], data["failed"], data["errors"], not_run)


def _run_job(job: _Job, count: int, spread: float, timeout: float) -> None:
    request = {"netns": job.netns, "count": count, "spread": spread, "deadline": timeout,
               "until": job.until,
               "request_timeout": min(REQUEST_TIMEOUT, timeout), "paths": job.specs}
    try:
        done = proc.run([sys.executable, "-I", "-S", "-c", BOOT, ROOT], proc.Limits(timeout + 5.0),
                        input=json.dumps(request))
        answer = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.strip()[-300:]}
    except (proc.TimedOut, OSError, ValueError) as exc:
        answer = {"error": f"the measuring helper failed: {exc}"}
    if "error" in answer:
        for r in job.results:
            r.not_measured = f"not measured: {answer['error'] or 'the measuring helper failed'}"
        return
    for r, data in zip(job.results, answer["paths"]):
        not_run = int(data.get("not_run", 0))
        r.address = data.get("address")
        if data.get("refused"):
            r.not_measured = data["refused"]
        r.connect = _figure("connect", data["connect"], count, not_run)
        r.http = _figure("http", data.get("http"), count, not_run)
        r.lookup = _figure("lookup", data.get("lookup"), len(data["lookup"]["ms"]) + data["lookup"]["failed"]
                           if data.get("lookup") else 0, 0)


def measure(project: Project, engine: "Engine", services: Iterable[str] | None = None, *,
            count: int = DEFAULT_COUNT, spread: float = DEFAULT_SPREAD, timeout: float = DEFAULT_TIMEOUT,
            kinds: tuple[str, ...] = (NAMESPACE, BRIDGE, HOST),
            containers: list[ContainerInfo] | None = None) -> LatencyReport:
    """Every path to the given services' listening ports (all services by default), measured now."""
    if count < 1:
        raise ConfigError(f"count must be at least 1, not {count}")
    if timeout <= 0:
        raise ConfigError(f"the time limit must be positive, not {timeout:g} s")
    asked = list(services) if services else None
    for name in asked or ():
        project.service(name)  # an unknown name: ConfigError with the known ones
    started = time.monotonic()
    containers = containers if containers is not None else engine.project_containers(project.name)
    plan = Plan(project, containers, engine.is_local())
    report = LatencyReport(project.name, count)
    ports = listening(project, asked)
    report.quiet = [s for s in asked or () if not any(p.service == s for p in ports)]
    calls, report.skipped = uses(project)
    for port in ports:
        for who in (port.service, port.owner):
            if who not in plan.running and port.service not in report.not_running:
                report.not_running[port.service] = _stopped_words(who, containers, port.service)
        if port.service in report.not_running:
            continue
        if NAMESPACE in kinds:
            plan.namespace(port)
        if BRIDGE in kinds:
            for use in calls:
                if use.port == port.port and namespace_root(project, use.name) == port.owner:
                    plan.bridge(port, use.caller, use.name)
        if HOST in kinds:
            plan.host(port)
    for name in asked or ():
        if name not in plan.running and name not in report.not_running:
            report.not_running[name] = _stopped_words(name, containers)
    paths = plan.run(count, spread, timeout)
    kind_order = {NAMESPACE: 0, BRIDGE: 1, HOST: 2}
    declared = {name: i for i, name in enumerate(project.services)}
    report.paths = sorted(paths, key=lambda r: (declared[r.service], r.port, kind_order[r.kind]))
    report.elapsed_s = time.monotonic() - started
    return report
