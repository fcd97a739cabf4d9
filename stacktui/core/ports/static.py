"""Static port findings, read from the compose files, each with file and line.

Compose's `config` accepts all of these; the engine refuses them only at `up`:
- one host address:port:protocol published twice ("port is already allocated"),
- `ports` or `expose` on a service that lives in another's network namespace
  ("conflicting options: port publishing and the container type network mode"),
- two members of one shared network namespace declaring the same listening port
  (`x-stacktui: {listens: [...]}`): the second to bind gets "address already in use".
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from stacktui.core.errors import SourceRef
from stacktui.core.findings import (DUPLICATE_LISTEN, DUPLICATE_PUBLISH, ERROR, PORTS_ON_SHARED_NETWORK,
                                    WARNING, Finding)
from stacktui.core.compose.model import PortSpec, Project
from stacktui.core.namespaces.groups import namespace_root as network_root, network_groups

PROTOCOLS = ("tcp", "udp", "sctp")
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


def port_range(published: str | None) -> tuple[int, int] | None:
    """"8080" -> (8080, 8080), "8000-8010" -> (8000, 8010); None when the engine picks the port."""
    m = _RANGE.fullmatch(published or "")
    if not m:
        return None
    lo = int(m.group(1))
    return lo, int(m.group(2) or lo)


def _normal_ip(ip: str) -> str:
    ip = ip.strip("[]")
    if ip.startswith("::ffff:") and "." in ip:
        return ip[len("::ffff:"):]
    return ip


def addresses_overlap(a: str, b: str) -> bool:
    """Whether two bind addresses can collide on one port.

    Compose's empty host_ip means every address (the engine binds 0.0.0.0 and ::);
    0.0.0.0 takes every IPv4 address; :: takes everything on a dual-stack host.
    """
    a, b = _normal_ip(a), _normal_ip(b)
    if a in ("", "::") or b in ("", "::") or a == b:
        return True
    try:
        fa, fb = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False  # a host name: Compose would have resolved it; we cannot compare
    if fa.version != fb.version:
        return False
    return fa.is_unspecified or fb.is_unspecified


def _targets(item: Any) -> tuple[list[int] | None, str]:
    """Container ports and protocol of one source `ports:` item (short or long syntax)."""
    if isinstance(item, dict):
        target = str(item.get("target", ""))
        m = _RANGE.fullmatch(target)
        proto = str(item.get("protocol") or "tcp")
        return ([int(m.group(1))] if m else None), proto
    text, proto = str(item), "tcp"
    head, slash, tail = text.rpartition("/")
    if slash and tail in PROTOCOLS:
        text, proto = head, tail
    m = _RANGE.fullmatch(text.rsplit(":", 1)[-1])
    if not m:
        return None, proto  # the container port is a variable: match by order alone
    lo = int(m.group(1))
    return list(range(lo, int(m.group(2) or lo) + 1)), proto


def _line(seq: Any, index: int) -> int | None:
    try:
        return seq.lc.item(index)[0] + 1
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


def port_refs(project: Project, service: str) -> list[SourceRef | None]:
    """Where each entry of the service's effective `ports` was written, in the same order.

    Compose's JSON expands ranges ("9001-9002:9001-9002" is two entries) and has
    interpolated variables, so entries are matched to source items by container port
    and protocol, in order.
    """
    spec = project.services[service]
    source = project.source
    fallback = source.locate(service, "ports") if source is not None else spec.where
    if source is None:
        return [p.where or fallback for p in spec.ports]
    written: list[tuple[int | None, str, SourceRef]] = []
    for sf in source.files:
        node = sf.services().get(service)
        seq = node.get("ports") if isinstance(node, dict) else None
        if not isinstance(seq, list):
            continue
        for i, item in enumerate(seq):
            line = _line(seq, i)
            ref = SourceRef(sf.path, line) if line else (fallback or SourceRef(sf.path, 1))
            targets, proto = _targets(item)
            for t in targets if targets is not None else [None]:
                written.append((t, proto, ref))
    used = [False] * len(written)
    refs: list[SourceRef | None] = []
    for p in spec.ports:
        pick = next((i for i, (t, proto, _) in enumerate(written)
                     if not used[i] and t == p.target and proto == p.protocol), None)
        if pick is None:
            pick = next((i for i, (t, proto, _) in enumerate(written)
                         if not used[i] and t is None and proto == p.protocol), None)
        if pick is None:
            refs.append(fallback)
        else:
            used[pick] = True
            refs.append(written[pick][2])
    return refs


@dataclass(frozen=True)
class Published:
    service: str
    spec: PortSpec
    low: int
    high: int
    where: SourceRef | None

    @property
    def port(self) -> int | str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"

    def address(self) -> str:
        ip = self.spec.host_ip or "0.0.0.0"
        return f"[{ip}]:{self.port}" if ":" in ip else f"{ip}:{self.port}"


def published_ports(project: Project) -> list[Published]:
    """Every host port the files publish, in declared order, with where each was written."""
    out: list[Published] = []
    for name, spec in project.services.items():
        for p, ref in zip(spec.ports, port_refs(project, name)):
            rng = port_range(p.published)
            if rng:
                out.append(Published(name, p, rng[0], rng[1], ref))
    return out


def _near(ref: SourceRef, here: SourceRef | None) -> str:
    """A reference as short as the reader needs: "line 12" in the same file, else "file:12"."""
    if here is not None and here.file == ref.file:
        return f"line {ref.line}"
    return f"{ref.file.name}:{ref.line}"


def _listeners_in(project: Project, groups: dict[str, list[str]], service: str, port: int) -> list[str]:
    members = groups.get(network_root(project, service), [service])
    return [m for m in members if port in project.services[m].x.listens]


def duplicate_publish(project: Project) -> list[Finding]:
    groups = network_groups(project)
    pubs = published_ports(project)
    findings: list[Finding] = []
    for j, later in enumerate(pubs):
        for earlier in pubs[:j]:
            if (earlier.spec.protocol != later.spec.protocol or earlier.high < later.low
                    or later.high < earlier.low or not addresses_overlap(earlier.spec.host_ip, later.spec.host_ip)):
                continue
            exact = earlier.low == earlier.high and later.low == later.high
            lo, hi = max(earlier.low, later.low), min(earlier.high, later.high)
            port = lo if lo == hi else f"{lo}-{hi}"
            # Point at the one to remove when the listens declarations tell: after the reference
            # document's rollback, vscode still publishes 9001 for a mcp-server that left it.
            stray, keep = later, earlier
            e_listens = _listeners_in(project, groups, earlier.service, earlier.spec.target)
            l_listens = _listeners_in(project, groups, later.service, later.spec.target)
            if e_listens == [] and l_listens:
                stray, keep = earlier, later
            proto = later.spec.protocol
            if earlier.service == later.service:
                where_else = f"also at {_near(keep.where, stray.where)}" if keep.where else "twice"
                message = f"{stray.address()}/{proto} is published twice by {stray.service} ({where_else})"
            else:
                message = (f"host port {stray.address()}/{proto} of {stray.service} is also published by "
                           f"{keep.service} ({keep.address()}"
                           + (f" at {_near(keep.where, stray.where)}" if keep.where else "") + ")")
            if exact:
                message += "; `up` fails with \"port is already allocated\""
                hint = "publish it once, or give one of them another host port"
            else:
                message += "; the ranges overlap, so one may not get a port"
                hint = "make the ranges disjoint"
            if stray is not later:
                owner_of = ", ".join(l_listens)
                hint = (f"nothing in {stray.service}'s network namespace declares {stray.spec.target} "
                        f"(x-stacktui listens) but {owner_of} does: remove it from {stray.service}'s ports")
            findings.append(Finding.at(stray.where, severity=ERROR if exact else WARNING, kind=DUPLICATE_PUBLISH,
                                       service=stray.service, port=port, message=message,
                                       hint=hint))
    return findings


def ports_on_shared_network(project: Project) -> list[Finding]:
    findings: list[Finding] = []
    for name, spec in project.services.items():
        mode = spec.network_mode or ""
        owner = spec.namespace_target("network_mode")
        if not (owner or mode.startswith("container:")):
            continue
        joined = owner or mode.split(":", 1)[1]
        root = network_root(project, name)
        hint = (f"publish them on {root}, which owns this network namespace, or give {name} its own "
                f"network (stacktui layout separate {name})")
        for p, ref in zip(spec.ports, port_refs(project, name)):
            findings.append(Finding.at(
                ref, severity=ERROR, kind=PORTS_ON_SHARED_NETWORK, service=name,
                port=port_range_label(p) or p.target,
                message=(f"{name} publishes {p.label()} but lives in {joined}'s network namespace "
                         f"(network_mode: {mode}); the engine refuses to start it: \"conflicting options: "
                         f"port publishing and the container type network mode\""),
                hint=hint))
        for i, e in enumerate(spec.expose):
            where = project.source.locate(name, "expose", i) if project.source is not None else spec.where
            number = e.split("/")[0]
            findings.append(Finding.at(
                where, severity=ERROR, kind=PORTS_ON_SHARED_NETWORK, service=name,
                port=int(number) if number.isdigit() else e,
                message=(f"{name} exposes {e} but lives in {joined}'s network namespace "
                         f"(network_mode: {mode}); the engine refuses to start it: \"conflicting options: "
                         f"port exposing and the container type network mode\""),
                hint=f"expose it on {root}, or remove `expose` from {name}"))
    return findings


def port_range_label(p: PortSpec) -> int | str | None:
    rng = port_range(p.published)
    if not rng:
        return None
    return rng[0] if rng[0] == rng[1] else f"{rng[0]}-{rng[1]}"


def duplicate_listen(project: Project) -> list[Finding]:
    findings: list[Finding] = []
    for owner, members in network_groups(project).items():
        if len(members) < 2:
            continue
        first: dict[int, str] = {}
        for member in members:
            for i, port in enumerate(project.services[member].x.listens):
                if port not in first:
                    first[port] = member
                    continue
                if first[port] == member:
                    continue
                where = project.source.locate(member, "x-stacktui", "listens", i) if project.source else None
                other = first[port]
                other_where = project.source.locate(other, "x-stacktui", "listens") if project.source else None
                findings.append(Finding.at(
                    where, severity=ERROR, kind=DUPLICATE_LISTEN, service=member, port=port,
                    message=(f"{member} and {other} both listen on {port} in {owner}'s network namespace"
                             + (f" ({other} at {_near(other_where, where)})" if other_where else "")
                             + "; whichever binds second fails with \"address already in use\""),
                    hint=f"move one of them to another port, or give {member} its own network "
                         f"(stacktui layout separate {member})"))
    return findings


def static_findings(project: Project) -> list[Finding]:
    """Every static port finding of the project's files."""
    return [*duplicate_publish(project), *ports_on_shared_network(project), *duplicate_listen(project)]
