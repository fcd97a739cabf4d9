"""What an applied layout change must show before it counts as done, and the events that report it.

Gates: each service's x-stacktui health probe passes. Then, from the host, every
published port that changed publisher answers; and from inside each container
whose settings were rewritten, the new URL answers, as that service's own
processes would reach it (name resolution and network included).
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from stacktui.core.engine.client import ContainerInfo, Engine
from stacktui.core.ports.host import port_answers
from stacktui.core.compose.model import Project
from stacktui.core.health.gates import wait_for_gates

_URL = re.compile(r"\bhttps?://[^\s\"'<>]+")
_FETCH = r"""u=$1
if command -v wget >/dev/null 2>&1; then
  if command -v timeout >/dev/null 2>&1; then out=$(timeout 3 wget -q -O /dev/null "$u" 2>&1); rc=$?
  else out=$(wget -q -O /dev/null "$u" 2>&1); rc=$?; fi
  # It answered, with an error status: reached all the same (busybox says so, GNU wget exits 8).
  case "$out" in *"server returned error"*|*" HTTP/"*) exit 0;; esac
  [ "$rc" -eq 8 ] && exit 0
  [ -n "$out" ] && echo "$out"; exit $rc
elif command -v curl >/dev/null 2>&1; then
  curl -sS -m 3 -o /dev/null "$u"
else
  echo "no wget or curl in the container"; exit 127
fi"""


@dataclass(frozen=True)
class ApplyEvent:
    kind: str  # check, write, up, gate, verify, failed, rollback, done
    message: str
    service: str | None = None


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


Emit = Callable[[ApplyEvent], None]


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


def probe_gates(project: Project, engine: Engine, services: list[str], deadline: float,
                emit: Emit) -> list[Check]:
    """Each changed service with a probe passes restart's own gates (health.gates): one idea of
    "back", whether a restart or a layout change brought the service up."""
    checks: list[Check] = []
    for name in services:
        url = project.services[name].x.health
        if not url:
            continue
        got = wait_for_gates(project, engine, name, timeout=max(0.1, deadline - time.monotonic()))
        probe = got.probe
        detail = got.reason or (f"{probe.reached_via}: {probe.error or probe.status_code}" if probe else "")
        checks.append(Check(f"{name} answers {url}", got.ok, detail))
        emit(ApplyEvent("gate", f"{name}: {url} {'answers' if got.ok else 'does not answer'} ({detail})", name))
        if not got.ok:
            break
    return checks


def verify(old: Project, new: Project, engine: Engine, services: list[str], deadline: float,
            emit: Emit) -> list[Check]:
    checks: list[Check] = []
    if engine.is_local():
        for ip, port, proto, owner in moved_ports(old, new, services):
            if proto != "tcp":
                continue
            host = "127.0.0.1" if ip in ("", "0.0.0.0") else ("::1" if ip == "::" else ip)
            ok, detail = _until(deadline, functools.partial(port_answers, host, port))
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
