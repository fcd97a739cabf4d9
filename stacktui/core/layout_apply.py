"""Apply a layout change to a running stack, or put everything back as it was.

Order of work, under the project's lock:
1. Compose validates the new text (config from stdin; nothing written yet).
2. The host ports the new layout publishes must be free, or held by containers
   this apply recreates anyway; otherwise stop here, file and containers untouched.
3. Write the file (atomically, recorded in the history).
4. `compose up -d --wait --no-deps --force-recreate` of every service whose
   configuration changed and every service joining one of their namespaces
   (a dependant must be recreated with its owner: it cannot join an owner's
   old container), owners first; Compose waits for their healthchecks.
5. x-stacktui health probes pass; ports that changed publisher answer from the
   host; every URL that was rewritten is reached from the container that uses it.
If 4 or 5 fails: the previous text goes back and the same services are brought
up from it the same way, so the stack is never left between two layouts.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from stacktui.core import composecli
from stacktui.core.composecli import ComposeTarget
from stacktui.core.engine import ContainerInfo, Engine
from stacktui.core.errors import ConfigError, StackError
from stacktui.core.history import FileChanged, HistoryEntry, read_bytes, revert, write_change
from stacktui.core.layout import LayoutChange
from stacktui.core.lock import project_lock
from stacktui.core.model import Project
from stacktui.core.probes import probe_service
from stacktui.core.project import project_from_config
from stacktui.core.source import SourceFile, SourceIndex, parse_text

_URL = re.compile(r"\bhttps?://[^\s\"'<>]+")
_FETCH = r"""u=$1
if command -v wget >/dev/null 2>&1; then
  if command -v timeout >/dev/null 2>&1; then out=$(timeout 3 wget -q -O /dev/null "$u" 2>&1); rc=$?
  else out=$(wget -q -O /dev/null "$u" 2>&1); rc=$?; fi
  case "$out" in *"server returned error"*|*" HTTP/"*) exit 0;; esac
  [ -n "$out" ] && echo "$out"; exit $rc
elif command -v curl >/dev/null 2>&1; then
  curl -sS -m 3 -o /dev/null "$u"
else
  echo "no wget or curl in the container"; exit 127
fi"""


@dataclass(frozen=True)
class ApplyEvent:
    kind: str  # check, write, up, gate, verify, note, failed, rollback, done
    message: str
    service: str | None = None


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class ApplyResult:
    ok: bool
    written: bool  # the new text is on disk now
    entry: HistoryEntry | None = None
    services: list[str] = field(default_factory=list)  # brought up, owners first
    failed: str | None = None  # the step that failed
    reason: str | None = None
    checks: list[Check] = field(default_factory=list)
    rolled_back: bool = False
    rollback_ok: bool | None = None
    rollback_reason: str | None = None
    notes: list[str] = field(default_factory=list)


Emit = Callable[[ApplyEvent], None]


# ---------------------------------------------------------------- the new configuration, before writing it


def project_for_text(target: ComposeTarget, file: Path, text: str) -> Project:
    """What Compose makes of the project with file's text replaced (read from stdin; nothing written)."""
    first = target.files[0] if target.files else file
    args: list[str] = []
    for f in target.files:
        args += ["-f", "-" if Path(f) == file else str(f)]
    if target.project_name:
        args += ["-p", target.project_name]
    args += ["--project-directory", str(target.project_directory or Path(first).parent)]
    for e in target.env_files:
        args += ["--env-file", str(e)]
    for p in target.profiles:
        args += ["--profile", p]
    cmd = [*composecli.compose_command(), *args, "config", "--format", "json"]
    try:
        done = subprocess.run(cmd, input=text, capture_output=True, text=True, timeout=composecli.COMPOSE_TIMEOUT,
                              env={**os.environ, **target.env})
    except subprocess.TimeoutExpired as exc:
        raise ConfigError("compose config did not finish in time") from exc
    if done.returncode != 0:
        lines = "; ".join(ln.strip() for ln in done.stderr.splitlines() if ln.strip())
        raise ConfigError(f"Compose refuses the changed {file.name}: {lines}", hint="nothing was written")
    config = json.loads(done.stdout)
    sources = [SourceFile(Path(f), text, parse_text(text, Path(f))) if Path(f) == file else SourceFile.read(Path(f))
               for f in target.files]
    return project_from_config(config, SourceIndex(sources), target)


# ---------------------------------------------------------------- what to bring up


def _joins(project: Project, service: str) -> set[str]:
    return set(project.services[service].namespace_targets().values()) if service in project.services else set()


def services_to_recreate(old: Project, new: Project) -> list[str]:
    """Changed services plus every service joining one of them, owners first."""
    names = list(dict.fromkeys([*new.services, *old.services]))
    todo = {n for n in names
            if (old.services[n].raw if n in old.services else None) != (new.services[n].raw if n in new.services else None)}
    grown = True
    while grown:
        grown = False
        for n in names:
            if n not in todo and (_joins(old, n) | _joins(new, n)) & todo:
                todo.add(n)
                grown = True
    todo &= set(new.services)
    order: list[str] = []

    def visit(n: str, path: tuple[str, ...] = ()) -> None:
        if n in order or n in path:
            return
        for dep in sorted(_joins(new, n) | set(new.services[n].depends_on)):
            if dep in todo:
                visit(dep, (*path, n))
        order.append(n)

    for n in names:
        if n in todo:
            visit(n)
    return order


# ---------------------------------------------------------------- host ports


def _overlaps(a: str, b: str) -> bool:
    wild = ("", "0.0.0.0", "::")
    return a in wild or b in wild or a == b


def _holder(port: int) -> str:
    """Who listens on a host port, as far as this user may see."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="inet"):
            if conn.laddr and conn.laddr.port == port and conn.status in ("LISTEN", "NONE") and conn.pid:
                try:
                    return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except Exception:  # psutil may be refused the socket table; the port number is still worth saying
        pass
    return "another program"


def _bindable(ip: str, port: int, protocol: str) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError:
            return False
    return True


def host_port_conflicts(new: Project, services: list[str], containers: list[ContainerInfo],
                        local: bool) -> list[str]:
    """Host ports the new layout publishes that will not be free when its containers start."""
    problems: list[str] = []
    released = [(p, c) for c in containers if c.state == "running" and c.service in services for p in c.ports]
    kept = [(p, c) for c in containers if c.state == "running" and c.service not in services for p in c.ports]
    wanted: dict[tuple[str, int, str], str] = {}
    for name in services:
        for spec in new.services[name].ports:
            port = spec.host_port
            if port is None:
                continue
            key = (spec.host_ip, port, spec.protocol)
            label = f"{spec.host_ip or '0.0.0.0'}:{port}/{spec.protocol}"
            clash = next((s for (ip, p, proto), s in wanted.items()
                          if p == port and proto == spec.protocol and _overlaps(ip, spec.host_ip)), None)
            if clash:
                problems.append(f"{label} is published by both {clash} and {name}")
                continue
            wanted[key] = name
            other = next((c for p, c in kept if p.host_port == port and p.protocol == spec.protocol
                          and _overlaps(p.host_ip, spec.host_ip)), None)
            if other is not None:
                problems.append(f"{label} for {name} is published by {other.service} ({other.name}), "
                                "which this change does not restart")
                continue
            ours = any(p.host_port == port and p.protocol == spec.protocol and _overlaps(p.host_ip, spec.host_ip)
                       for p, _c in released)
            if not ours and local and not _bindable(spec.host_ip, port, spec.protocol):
                problems.append(f"{label} for {name} is in use by {_holder(port)}")
    return problems


def port_answers(ip: str, port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """Does something answer on a published port? The engine's proxy accepts even when nothing
    listens behind it, then closes at once: so a connection must be kept open or answered."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: stacktui\r\n\r\n")
            try:
                data = s.recv(64)
            except socket.timeout:
                return True, "accepted, no reply within the timeout"
            if data:
                return True, "answered"
            return False, "closed without answering"
    except OSError as exc:
        return False, exc.strerror or str(exc)


# ---------------------------------------------------------------- checks after up


def _running(engine: Engine, project: str) -> dict[str, ContainerInfo]:
    found: dict[str, ContainerInfo] = {}
    for c in engine.project_containers(project):
        if c.state == "running":
            found.setdefault(c.service, c)
    return found


def _until(deadline: float, attempt: Callable[[], tuple[bool, str]], pause: float = 0.3) -> tuple[bool, str]:
    ok, detail = attempt()
    while not ok and time.monotonic() < deadline:
        time.sleep(pause)
        ok, detail = attempt()
    return ok, detail


def moved_ports(old: Project, new: Project, services: Iterable[str]) -> list[tuple[str, int, str, str]]:
    """(host ip, host port, protocol, new publisher) of ports whose publisher changed."""
    before = {(p.host_ip, p.host_port, p.protocol): n for n, s in old.services.items() for p in s.ports if p.host_port}
    out = []
    for n in services:
        for p in new.services[n].ports:
            if p.host_port and before.get((p.host_ip, p.host_port, p.protocol)) != n:
                out.append((p.host_ip, p.host_port, p.protocol, n))
    return out


def rewritten_urls(old: Project, new: Project, services: Iterable[str]) -> list[tuple[str, str]]:
    """(service, url) for every URL naming a service in an environment value that changed."""
    out: list[tuple[str, str]] = []
    for n in services:
        before = old.services[n].environment if n in old.services else {}
        for key, value in new.services[n].environment.items():
            if not isinstance(value, str) or before.get(key) == value:
                continue
            for url in _URL.findall(value):
                host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
                if host in new.services:
                    out.append((n, url))
    return out


def reach_from(engine: Engine, container: ContainerInfo, url: str) -> tuple[bool, str]:
    """Fetch url inside the container, as its own processes would (wget or curl, whichever it has)."""
    try:
        code, out = engine.exec(container.id, ["sh", "-c", _FETCH, "fetch", url])
    except Exception as exc:  # the engine refuses exec in some containers (no sh): say so, do not crash
        return False, f"cannot run a check in {container.name}: {exc}"
    if code == 127 and "no wget or curl" in out:
        return True, "not checked: the container has neither wget nor curl"
    if code == 0:
        return True, "answered"
    return False, out.strip().splitlines()[-1] if out.strip() else f"exit {code}"


def _gates(project: Project, engine: Engine, services: list[str], deadline: float,
           emit: Emit) -> list[Check]:
    checks: list[Check] = []
    for name in services:
        url = project.services[name].x.health
        if not url:
            continue

        def attempt(name: str = name) -> tuple[bool, str]:
            containers = engine.project_containers(project.name)
            res = probe_service(project, containers, name, timeout=2.0, local_engine=engine.is_local())
            if res is None:
                return True, ""
            return res.ok, f"{res.reached_via}: {res.error or res.status_code}"

        ok, detail = _until(deadline, attempt)
        checks.append(Check(f"{name} answers {url}", ok, detail))
        emit(ApplyEvent("gate", f"{name}: {url} {'answers' if ok else 'does not answer'} ({detail})", name))
        if not ok:
            break
    return checks


def _verify(old: Project, new: Project, engine: Engine, services: list[str], deadline: float,
            emit: Emit) -> list[Check]:
    checks: list[Check] = []
    if engine.is_local():
        for ip, port, proto, owner in moved_ports(old, new, services):
            if proto != "tcp":
                continue
            host = "127.0.0.1" if ip in ("", "0.0.0.0") else ("::1" if ip == "::" else ip)
            ok, detail = _until(deadline, lambda h=host, p=port: port_answers(h, p))
            checks.append(Check(f"{host}:{port} (published by {owner}) answers from the host", ok, detail))
            emit(ApplyEvent("verify", f"{host}:{port} published by {owner}: {detail}", owner))
            if not ok:
                return checks
    for name, url in rewritten_urls(old, new, services):
        def attempt(name: str = name, url: str = url) -> tuple[bool, str]:
            c = _running(engine, new.name).get(name)
            if c is None:
                return False, f"{name} is not running"
            return reach_from(engine, c, url)

        ok, detail = _until(deadline, attempt, pause=0.5)
        checks.append(Check(f"{name} reaches {url}", ok, detail))
        emit(ApplyEvent("verify", f"{name} reaches {url}: {detail}", name))
        if not ok:
            return checks
    return checks


def _up(target: ComposeTarget, services: list[str], timeout: float) -> tuple[bool, str]:
    args = ["up", "-d", "--wait", "--wait-timeout", str(max(1, int(timeout))), "--no-deps", "--force-recreate",
            *services]
    try:
        done = composecli.run(target, args, timeout=timeout + 60, check=False)
    except ConfigError as exc:
        return False, exc.message
    text = (done.stderr or done.stdout).strip()
    if done.returncode != 0:
        tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-3:]
        return False, "; ".join(tail) or f"compose up exited {done.returncode}"
    return True, ""


# ---------------------------------------------------------------- apply


def apply_change(change: LayoutChange, project: Project, engine: Engine | None, target: ComposeTarget,
                 on_event: Emit | None = None, up: bool = True, timeout: float = 60.0) -> ApplyResult:
    """Write change and, with up, bring the stack to it; on failure put file and containers back.

    Raises StackError only for what stops it before anything happened (busy project, file
    changed on disk, Compose refusing the new text). Everything else is in the result.
    """
    emit: Emit = on_event or (lambda _e: None)
    with project_lock(project.name, f"layout: {change.reason}"):
        if read_bytes(change.file) != change.old_text.encode("utf-8"):
            raise FileChanged(f"{change.file} changed on disk since the change was prepared; nothing was written",
                              hint="prepare the change again")
        new = project_for_text(target, change.file, change.new_text)
        result = ApplyResult(ok=False, written=False, notes=list(change.notes))
        if not up or engine is None:
            result.entry = write_change(change)
            result.written = result.ok = True
            emit(ApplyEvent("write", f"wrote {change.file} (history #{result.entry.id}); containers not touched"))
            return result

        services = services_to_recreate(project, new)
        result.services = services
        containers = engine.project_containers(project.name)
        if not any(c.state == "running" and c.service in services for c in containers):
            result.entry = write_change(change)
            result.written = result.ok = True
            result.services = []
            result.notes.append("none of the changed services is running: the file is written, nothing started")
            emit(ApplyEvent("write", f"wrote {change.file} (history #{result.entry.id}); nothing running to recreate"))
            return result

        emit(ApplyEvent("check", f"host ports for {', '.join(services)}"))
        problems = host_port_conflicts(new, services, containers, engine.is_local())
        if problems:
            result.failed, result.reason = "host ports", "; ".join(problems)
            result.checks.append(Check("host ports are free", False, result.reason))
            emit(ApplyEvent("failed", f"host ports: {result.reason}; file and containers untouched"))
            return result
        if not engine.is_local():
            result.notes.append("the engine is remote: host ports were not checked from here")

        result.entry = write_change(change)
        result.written = True
        emit(ApplyEvent("write", f"wrote {change.file} (history #{result.entry.id})"))
        deadline = time.monotonic() + timeout
        emit(ApplyEvent("up", f"compose up {' '.join(services)} (owners first, waiting for health)"))
        ok, why = _up(target, services, timeout)
        if not ok:
            result.failed, result.reason = "compose up", why
        else:
            result.checks += _gates(new, engine, services, deadline, emit)
            if all(c.ok for c in result.checks):
                result.checks += _verify(project, new, engine, services, deadline, emit)
            bad = next((c for c in result.checks if not c.ok), None)
            if bad is not None:
                result.failed, result.reason = "verify", f"{bad.what}: {bad.detail}"
        if result.failed is None:
            result.ok = True
            emit(ApplyEvent("done", "every check passed"))
            return result

        emit(ApplyEvent("failed", f"{result.failed}: {result.reason}"))
        _roll_back(change, result, project, engine, target, services, timeout, emit)
        return result


def _roll_back(change: LayoutChange, result: ApplyResult, project: Project, engine: Engine,
               target: ComposeTarget, services: list[str], timeout: float, emit: Emit) -> None:
    result.rolled_back = True
    assert result.entry is not None
    try:
        revert(change, result.entry, f"{result.failed}: {result.reason}")
        result.written = False
    except StackError as exc:
        result.rollback_ok, result.rollback_reason = False, f"the file was not put back: {exc}"
        emit(ApplyEvent("rollback", result.rollback_reason))
        return
    emit(ApplyEvent("rollback", f"put {change.file} back; compose up {' '.join(services)} from it"))
    ok, why = _up(target, services, timeout)
    if ok:
        gates = _gates(project, engine, services, time.monotonic() + timeout, emit)
        bad = next((c for c in gates if not c.ok), None)
        if bad is not None:
            ok, why = False, f"{bad.what}: {bad.detail}"
    result.rollback_ok = ok
    result.rollback_reason = None if ok else why
    emit(ApplyEvent("rollback", "previous layout running again" if ok else f"rollback incomplete: {why}"))
