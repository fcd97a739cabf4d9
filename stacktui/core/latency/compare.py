"""What a layout change costs or saves per request, measured now on the stack itself.

For the service being moved and its port (the health URL's, else the first it listens on),
two paths to the very same listener are measured side by side: localhost inside the
service's own network namespace (what its namespace's members get when shared), and across
the bridge from another of the stack's namespaces through the engine's DNS (what a caller
gets when it is separate). The caller is, in this order: the owner it would join (separate
to shared), a dependant the files name, any other running container of the stack on one of
the same networks. The figure of the layout in place comes first, then what the other would be.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacktui.core.compose.model import Project
from stacktui.core.errors import StackError
from stacktui.core.latency.figures import BRIDGE, KIND_WORDS, NAMESPACE, PathResult, ms
from stacktui.core.latency.measure import REMOTE, Plan
from stacktui.core.latency.paths import Listening, listening, uses
from stacktui.core.namespaces.groups import namespace_root

if TYPE_CHECKING:
    from stacktui.core.engine.client import ContainerInfo, Engine

COUNT = 100  # asks per path beside a diff: a second's worth, not the command's full 200
SPREAD = 1.0
TIMEOUT = 5.0
SHARED, SEPARATE = "shared", "separate"


@dataclass
class Comparison:
    service: str
    port: int | None
    layout: str  # the layout in place: shared or separate
    now: PathResult | None = None
    other: PathResult | None = None
    note: str | None = None  # why there is nothing to compare

    @property
    def other_layout(self) -> str:
        return SEPARATE if self.layout == SHARED else SHARED

    def _figure(self, path: PathResult, what: str) -> float | None:
        f = path.http if what == "http" else path.connect
        return f.p50 if f is not None else None

    def words(self) -> str:
        """`shared: localhost p50 0.04 ms; separate would be: bridge p50 0.07 ms (+0.03 ms per request)`."""
        if self.note is not None or self.now is None or self.other is None:
            return f"latency: {self.note or 'nothing comparable could be measured'}"
        for p in (self.now, self.other):
            if p.not_measured:
                return f"latency: {KIND_WORDS[p.kind]} path not measured ({p.not_measured})"
        both_http = all(p.http is not None and p.http.ok for p in (self.now, self.other))
        what = "http" if both_http else "connect"
        now, other = self._figure(self.now, what), self._figure(self.other, what)
        if now is None or other is None:
            failed = self.now if now is None else self.other
            return f"latency: every ask along the {KIND_WORDS[failed.kind]} path failed ({failed.destination})"
        per = "request" if what == "http" else "connection"
        delta = other - now
        sign = "+" if delta >= 0 else "-"
        return (f"{self.layout}: {KIND_WORDS[self.now.kind]} p50 {ms(now)} ms; {self.other_layout} would be: "
                f"{KIND_WORDS[self.other.kind]} p50 {ms(other)} ms ({sign}{ms(abs(delta))} ms per {per}; "
                f"{what}, measured now: {self._where()})")

    def _where(self) -> str:
        assert self.now is not None and self.other is not None
        bridge = self.now if self.now.kind == BRIDGE else self.other
        return f"{self.service}:{self.port} from its namespace and from {bridge.source} as {bridge.destination}"


def _port(project: Project, service: str) -> Listening | None:
    ports = listening(project, [service])
    return next((p for p in ports if p.http_path), ports[0] if ports else None)


def _shares_network(a: "ContainerInfo", b: "ContainerInfo") -> bool:
    return bool(set(a.ip_addresses) & set(b.ip_addresses))


def _caller(project: Project, plan: Plan, port: Listening, owner: str | None) -> tuple[str, str] | None:
    """(caller service, the name it asks the DNS for) of a bridge path to the port, or None."""
    home = namespace_root(project, port.service)
    target = plan.running.get(home)
    if target is None:
        return None
    if owner and owner in plan.running and namespace_root(project, owner) != home:
        return owner, home
    for use in uses(project)[0]:
        if use.port == port.port and namespace_root(project, use.name) == home and use.caller in plan.running:
            return use.caller, use.name
    for name, c in plan.running.items():
        if namespace_root(project, name) != home and name == namespace_root(project, name) and \
                _shares_network(c, target):
            return name, home
    return None


def compare_layouts(project: Project, engine: "Engine", service: str, owner: str | None = None, *,
                    count: int = COUNT, timeout: float = TIMEOUT) -> Comparison:
    """The figures beside `layout separate SERVICE` or `layout shared SERVICE --with OWNER`.

    `owner` is the service it would join (shared), None for separate. Never raises: an engine
    that does not answer, or a stack that is not running, is a note.
    """
    layout = SHARED if project.services[service].namespace_target("network_mode") else SEPARATE
    port = _port(project, service)
    result = Comparison(service, port.port if port else None, layout)
    if port is None:
        result.note = f"{service} has no port known to listen: nothing to compare"
        return result
    try:
        if not engine.is_local():
            result.note = REMOTE
            return result
        plan = Plan(project, engine.project_containers(project.name), True)
    except StackError as exc:
        result.note = f"not measured: {exc}"
        return result
    if service not in plan.running or port.owner not in plan.running:
        result.note = f"not measured: {service} is not running"
        return result
    caller = _caller(project, plan, port, owner)
    if caller is None:
        result.note = (f"no other running container of the stack shares a network with {port.owner}: "
                       "the bridge path cannot be measured here")
        return result
    plan.namespace(port)
    plan.bridge(port, *caller)
    paths = {p.kind: p for p in plan.run(count, SPREAD, timeout)}
    local, bridge = paths.get(NAMESPACE), paths.get(BRIDGE)
    result.now, result.other = (local, bridge) if layout == SHARED else (bridge, local)
    return result
