"""Who listens on which port inside a shared network namespace, and the conflicts that follows.

Three ways to see it, best first:
- /proc on the engine's host (local engine, /proc readable): the namespace's
  /proc/PID/net/tcp and tcp6 give the listening sockets and their inodes; the
  socket links in /proc/*/fd of the member containers' processes (found by the
  container id in /proc/PID/cgroup) name the process and so the member.
- `docker exec` in each member: the same files as the member sees them; a member
  sees its own processes only, so every member is asked and the answers merged.
- neither: each member's declared ports (`x-stacktui.listens`), said to be unknown.

"address already in use" in a member's log since its last start is a conflict too.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.findings import ERROR, NAMESPACE_PORT_CONFLICT, Finding
from stacktui.core.sanitize import printable
from stacktui.core.compose.model import Project
from stacktui.core.namespaces.groups import network_groups

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

PROC, EXEC, UNKNOWN = "proc", "exec", "unknown"
SEEN = {PROC: "seen in /proc", EXEC: "seen with docker exec", UNKNOWN: "not seen"}
LISTEN_STATE = "0A"
IN_USE = re.compile(r"address (already )?in use|EADDRINUSE", re.IGNORECASE)
LOG_LINES = 200
START_MARGIN = 2.0  # seconds of log before the engine's StartedAt that still belong to the run
ENGINE_DNS = "127.0.0.11"  # the engine's embedded DNS listens here in every user-network namespace

# One exec per member: the namespace's sockets, then every socket link of the processes it can see.
_EXEC_SCRIPT = (
    "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; echo '==fds=='; "
    "for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null); for f in $p/fd/*; do "
    "l=$(readlink $f 2>/dev/null) && case $l in socket:*) echo \"${p#/proc/} $l $c\";; esac; done; done"
)


@dataclass(frozen=True)
class Listener:
    service: str | None  # the member whose process holds the socket; None when no member's is seen
    container_id: str | None
    port: int
    protocol: str
    pid: int | None  # a host PID via /proc, the member's own PID via exec
    process: str | None
    via: str  # proc, exec, unknown (unknown: the declared port, not observed)
    address: str = ""
    namespace: str = ""  # the service that owns the network namespace, as declared
    netns: str = ""  # the kernel's namespace id via /proc ("net:[4026532185]"); members that differ are stale

    def who(self) -> str:
        proc = f"{self.process or 'a process'}" + (f" (pid {self.pid})" if self.pid else "")
        return f"{self.service}'s {proc}" if self.service else f"{proc} of no member"


def _hex_address(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    addr = ipaddress.IPv6Address(words)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


def parse_proc_net(text: str) -> list[tuple[str, int, int]]:
    """(address, port, socket inode) of each LISTEN row of /proc/net/tcp or tcp6 text."""
    out: list[tuple[str, int, int]] = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10 or not cols[0].endswith(":") or cols[3] != LISTEN_STATE:
            continue
        addr, _, port = cols[1].partition(":")
        try:
            out.append((_hex_address(addr), int(port, 16), int(cols[9])))
        except ValueError:
            continue
    return out


def shared_members(project: Project, containers: list[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    """Owner -> the running containers of its network namespace's members, for namespaces shared by two or more."""
    running: dict[str, ContainerInfo] = {}
    for c in containers:
        if c.state == "running" and c.service not in running:
            running[c.service] = c
    out: dict[str, list[ContainerInfo]] = {}
    for owner, members in network_groups(project).items():
        if len(members) > 1:
            out[owner] = [running[m] for m in members if m in running]
    return out


def namespace_listeners(project: Project, engine: "Engine | None", containers: list[ContainerInfo],
                        prefer: str | None = None) -> list[Listener]:
    """Every listening TCP socket in each shared network namespace, with the member and process holding it.

    `prefer` forces one way ("proc" or "exec"); by default /proc when the engine is
    local and /proc shows the containers, else exec, else the declared ports as unknown.
    """
    return _read_namespaces(project, engine, containers, prefer)[0]


def listening_ports(project: Project, engine: "Engine | None", containers: list[ContainerInfo]) -> dict[str, set[int]]:
    """Service -> the ports its processes listen on, for each running member of a shared network namespace
    whose sockets could be read; an empty set is "seen listening on nothing". A member not in it was not seen."""
    listeners, seen = _read_namespaces(project, engine, containers, None)
    found: dict[str, set[int]] = {service: set() for service in seen}
    for item in listeners:
        if item.service in found:
            found[item.service].add(item.port)
    return found


def _read_namespaces(project: Project, engine: "Engine | None", containers: list[ContainerInfo],
                     prefer: str | None) -> tuple[list[Listener], set[str]]:
    """The listeners, and the members whose own processes were seen (all their sockets are among them)."""
    out: list[Listener] = []
    seen: set[str] = set()
    for owner, members in shared_members(project, containers).items():
        if not members:
            continue
        found: list[Listener] | None = None
        if prefer in (None, PROC) and (engine is None or engine.is_local()):
            found = _from_proc(owner, members)
            if found is not None:
                seen.update(m.service for m in members)
        if found is None and prefer in (None, EXEC) and engine is not None:
            answered: set[str] = set()
            found = _from_exec(owner, members, engine, answered)
            seen |= answered
        if found is None:
            found = [Listener(m.service, m.id, port, "tcp", None, None, UNKNOWN, namespace=owner)
                     for m in members for port in project.services[m.service].x.listens]
        out += found
    return out, seen


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _from_proc(owner: str, members: list[ContainerInfo]) -> list[Listener] | None:
    """None when /proc does not show these containers (remote engine, other PID namespace, no permission)."""
    ns_of: dict[str, str] = {}
    for m in members:
        cgroup = _read(f"/proc/{m.pid}/cgroup") if m.pid else None
        ns = _readlink(f"/proc/{m.pid}/ns/net") if m.pid else None
        if not cgroup or m.id not in cgroup or not ns:
            return None  # that PID is not this container here: the engine's /proc is not ours
        ns_of[m.id] = ns
    out: list[Listener] = []
    for ns in sorted(set(ns_of.values())):
        inside = [m for m in members if ns_of[m.id] == ns]
        sockets: list[tuple[str, int, int]] = []
        for name in ("tcp", "tcp6"):
            text = _read(f"/proc/{inside[0].pid}/net/{name}")
            if text is None and name == "tcp":
                return None
            sockets += parse_proc_net(text or "")
        holders = _socket_holders(ns, {inode for *_, inode in sockets}, inside)
        if holders is None:
            return None
        for address, port, inode in sockets:
            pid, comm, member = holders.get(inode, (None, None, None))
            if address == ENGINE_DNS and member is None:
                continue
            out.append(Listener(member.service if member else None, member.id if member else None, port, "tcp",
                                pid, comm, PROC, address=address, namespace=owner, netns=ns))
    return out


def _socket_holders(ns: str, inodes: set[int], members: list[ContainerInfo]
                    ) -> dict[int, tuple[int, str | None, ContainerInfo | None]] | None:
    """inode -> (host pid, process name, member) for the processes in that network namespace."""
    holders: dict[int, tuple[int, str | None, ContainerInfo | None]] = {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        if not inodes - holders.keys():
            break
        if _readlink(f"/proc/{pid}/ns/net") != ns:
            continue
        cgroup = _read(f"/proc/{pid}/cgroup") or ""
        member = next((m for m in members if m.id in cgroup), None)
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except PermissionError:
            return None
        except OSError:
            continue  # gone meanwhile
        comm = (_read(f"/proc/{pid}/comm") or "").strip() or None
        for fd in fds:
            link = _readlink(f"/proc/{pid}/fd/{fd}") or ""
            if link.startswith("socket:["):
                inode = int(link[8:-1])
                if inode in inodes and inode not in holders:
                    holders[inode] = (pid, comm, member)
    return holders


def _from_exec(owner: str, members: list[ContainerInfo], engine: "Engine",
               answered_by: set[str] | None = None) -> list[Listener] | None:
    """The namespace's sockets as the members see them; answered_by gets each member that answered."""
    sockets: dict[int, tuple[str, int]] = {}
    holders: dict[int, tuple[int, str | None, ContainerInfo]] = {}
    answered = False
    for m in members:
        try:
            code, text = engine.exec(m.id, ["sh", "-c", _EXEC_SCRIPT])
        except Exception:  # no sh, exec refused, container gone: this member cannot tell
            continue
        head, sep, fds = text.partition("==fds==")
        if code != 0 or not sep:
            continue
        answered = True
        if answered_by is not None:
            answered_by.add(m.service)
        for address, port, inode in parse_proc_net(head):
            sockets.setdefault(inode, (address, port))
        for line in fds.splitlines():
            parts = line.split(None, 2)
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].startswith("socket:["):
                try:
                    inode = int(parts[1][8:-1])
                except ValueError:
                    continue
                holders.setdefault(inode, (int(parts[0]), parts[2].strip() if len(parts) > 2 else None, m))
    if not answered:
        return None
    out = []
    for inode, (address, port) in sockets.items():
        pid, comm, member = holders.get(inode, (None, None, None))
        if address == ENGINE_DNS and member is None:
            continue
        out.append(Listener(member.service if member else None, member.id if member else None, port, "tcp",
                            pid, comm, EXEC, address=address, namespace=owner))
    return out


def run_log_start(c: ContainerInfo) -> float | None:
    """Where the log of the container's current run begins, in unix seconds (None: all of it).

    The engine stamps StartedAt once the process is already running: a bind error printed at once
    can be stamped before it (by 0.2 ms here, more under load), so the run's log is taken from a
    little earlier, but never from before the previous run ended."""
    if c.started_at is None:
        return None
    since = c.started_at.timestamp() - START_MARGIN
    if c.finished_at is not None and c.finished_at < c.started_at:
        since = max(since, c.finished_at.timestamp())
    return since


def recent_conflict_lines(engine: "Engine", c: ContainerInfo, lines: int = LOG_LINES) -> list[str]:
    """Lines of the container's current run that say an address was already in use."""
    since = run_log_start(c)
    try:
        text = engine.logs_tail(c.id, lines, since=since)
    except Exception:  # a container removed meanwhile has no log to read
        return []
    return [printable(line.strip(), limit=200) for line in text if IN_USE.search(line)]


_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\b")


def bind_error_port(line: str) -> int | None:
    """The port a bind error names, when it names one (":9001", "port 9001"); clock times are not ports."""
    m = re.findall(r"(?::|port\s+)(\d{1,5})\b", _CLOCK.sub(" ", line), re.IGNORECASE)
    return int(m[-1]) if m and 0 < int(m[-1]) < 65536 else None


def live_findings(project: Project, engine: "Engine", containers: list[ContainerInfo],
                  listeners: Iterable[Listener] | None = None) -> list[Finding]:
    """Conflicts inside running shared namespaces: seen in the sockets, declared, and logged."""
    listeners = list(listeners) if listeners is not None else namespace_listeners(project, engine, containers)
    seen = [ln for ln in listeners if ln.via != UNKNOWN]
    findings: list[Finding] = []

    # The same port held by two members' processes (SO_REUSEPORT, or one on IPv4 and one on IPv6).
    by_port: dict[tuple[str, str, int], list[Listener]] = {}
    for ln in seen:
        by_port.setdefault((ln.namespace, ln.netns, ln.port), []).append(ln)
    for (owner, _, port), held in sorted(by_port.items(), key=lambda kv: kv[0][2]):
        services = sorted({ln.service for ln in held if ln.service})
        if len(services) > 1:
            who = " and ".join(next(ln.who() for ln in held if ln.service == s) for s in services)
            findings.append(Finding(ERROR, NAMESPACE_PORT_CONFLICT, services[-1], port,
                                    f"{who} all listen on {port} in {owner}'s network namespace ({SEEN[held[0].via]})",
                                    hint="move one of them to another port"))

    members = shared_members(project, containers)
    logged: dict[str, list[str]] = {}
    for owner in members:
        for c in _all_members(project, owner, containers):
            lines = recent_conflict_lines(engine, c)
            if lines:
                logged[c.service] = lines
    for owner, group in members.items():
        for c in group:
            mine = [ln for ln in seen if ln.namespace == owner and ln.service == c.service]
            lines = logged.pop(c.service, [])
            declared = project.services[c.service].x.listens
            named = {p for p in (bind_error_port(line) for line in lines) if p}
            wanted = list(dict.fromkeys([*declared, *sorted(named)]))
            for port in wanted:
                if any(ln.port == port for ln in mine):
                    continue
                others = [ln for ln in seen if ln.namespace == owner and ln.port == port and ln.service != c.service
                          and (not ln.netns or not mine or ln.netns == mine[0].netns)]
                if not others:
                    continue
                holder = others[0]
                wants = "declares" if port in declared else "tried to listen on"
                text = (f"{c.service} {wants} {port}, but {holder.who()} holds it in {owner}'s network "
                        f"namespace ({SEEN[holder.via]})")
                said = [line for line in lines if bind_error_port(line) in (None, port)]
                if said:
                    text += f"; {c.service}'s log: {said[-1]!r}"
                findings.append(Finding(ERROR, NAMESPACE_PORT_CONFLICT, c.service, port, text,
                                        hint=f"move {c.service} or {holder.service or 'the other'} to another port, "
                                             f"or give {c.service} its own network (stacktui layout separate "
                                             f"{c.service})"))
                lines = [line for line in lines if line not in said]
            if lines:
                holders = ", ".join(f"{ln.port} by {ln.who()}" for ln in seen if ln.namespace == owner) or "unknown"
                findings.append(Finding(ERROR, NAMESPACE_PORT_CONFLICT, c.service, bind_error_port(lines[-1]),
                                        f"{c.service}'s log since its start says {lines[-1]!r}; "
                                        f"ports held in {owner}'s network namespace: {holders}",
                                        hint="two members of this namespace want one port: move one of them"))
    for service, lines in logged.items():  # members that are not running: they may have died of it
        findings.append(Finding(ERROR, NAMESPACE_PORT_CONFLICT, service, bind_error_port(lines[-1]),
                                f"{service} is not running; its log says {lines[-1]!r}",
                                hint="two members of this namespace want one port: move one of them"))
    return findings


def _all_members(project: Project, owner: str, containers: list[ContainerInfo]) -> list[ContainerInfo]:
    """Every container (any state, the newest per service) of a shared namespace's members."""
    names = network_groups(project).get(owner, [])
    chosen: dict[str, ContainerInfo] = {}
    for c in containers:
        if c.service in names:
            prev = chosen.get(c.service)
            if prev is None or (c.state == "running" and prev.state != "running"):
                chosen[c.service] = c
    return [chosen[n] for n in names if n in chosen]
