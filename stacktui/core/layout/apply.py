"""Apply a layout change to a running stack, or put everything back as it was.

Order of work, under the project's lock:
1. Compose validates the new text (config from stdin; nothing written yet).
2. The host ports the new layout publishes must be free, or held by containers
   this apply recreates anyway; otherwise stop here, file and containers untouched.
3. Write the file (atomically, recorded in the history).
4. `compose up -d --wait --no-deps --force-recreate` of every service whose
   configuration changed and every service joining one of their namespaces
   (a dependant must be recreated with its owner: it cannot join an owner's
   old container), owners first; Compose waits for their healthchecks. Two
   calls when some of them publish no port and serve none (up_phases): the
   port holders first, so a moved port is dark only while they are replaced.
5. x-stacktui health probes pass; ports that changed publisher answer from the
   host; every URL that was rewritten is reached from the container that uses it.
If 4 or 5 fails: the previous text goes back and the same services are brought
up from it the same way, so the stack is never left between two layouts.
During a call of 4 where Compose would stop a joiner, then its owner, one after the other
(stops_in_order), the first old container Compose stops has the call's other old containers
stopped with it (core/layout/stoptogether.py): the moved port answers nobody meanwhile.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from stacktui.core.compose import cli as composecli
from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.engine.client import ContainerInfo, Engine, lost_engine
from stacktui.core.health.verdict import namespace_mates, stack_verdict
from stacktui.core.errors import ConfigError, StackError
from stacktui.core.layout.history import (FileChanged, HistoryEntry, check_writable, read_bytes, revert, sha256,
                                          write_change)
from stacktui.core.layout.prepare import LayoutChange
from stacktui.core.layout.stoptogether import StopTogether
from stacktui.core.ports.host import host_port_conflicts
from stacktui.core.layout.verify import ApplyEvent, Check, Emit, probe_gates, verify
from stacktui.core.lock import project_lock
from stacktui.core.compose.model import Project
from stacktui.core.loader import compose_config, project_from_config
from stacktui.core.compose.aliases import may_hold_aliases
from stacktui.core.compose.source import SourceFile, SourceIndex, parse_documents

__all__ = ["ApplyEvent", "ApplyResult", "Check", "apply_change", "ask_compose", "project_for_text",
           "services_to_recreate"]


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
    rollback_verified: list[str] = field(default_factory=list)  # what the rollback checked and found as before
    notes: list[str] = field(default_factory=list)


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

    def sources() -> list[SourceFile]:
        return [doc for f in target.files
                for doc in ([SourceFile(Path(f), text, tree) for tree in parse_documents(text, Path(f))]
                            if Path(f) == file else SourceFile.read_documents(Path(f)))]

    # Compose and stacktui read the new text at the same time (4 s and 1 s on a 2,000-service
    # file), unless it may hold an alias: then the alias budget sees it before Compose does.
    if may_hold_aliases(text):
        read = sources()
        done, config = compose_config(target, args, input=text)
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose-config") as pool:
            asked = pool.submit(compose_config, target, args, input=text)
            try:
                read = sources()
            finally:
                done, config = asked.result()  # bounded (core.proc)
    lines = "; ".join(ln.strip() for ln in done.stderr.splitlines() if ln.strip())
    if not isinstance(config, dict):
        raise ConfigError(f"Compose refuses the changed {file.name}: {lines or 'no configuration printed'}",
                          hint="nothing was written")
    return project_from_config(config, SourceIndex(read), target, args, input=text)


def ask_compose(change: LayoutChange, target: ComposeTarget) -> Project:
    """The project as Compose reads it with the change made, or Compose's refusal: the first question an
    apply asks. A dry run and the TUI's diff ask it too, the same way, so what they show the apply does."""
    return project_for_text(target, change.file, change.new_text)


# ---------------------------------------------------------------- what to bring up


def _joins(project: Project, service: str) -> set[str]:
    return set(project.services[service].namespace_targets().values()) if service in project.services else set()


def services_to_recreate(old: Project, new: Project) -> list[str]:
    """Changed services plus every service joining one of them, owners first."""
    names = list(dict.fromkeys([*new.services, *old.services]))
    todo = {n for n in names
            if (old.services[n].raw if n in old.services else None)
            != (new.services[n].raw if n in new.services else None)}
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


def up_phases(old: Project, new: Project, services: list[str]) -> list[list[str]]:
    """`services` (owners first) split in two Compose calls: what the host ports go through, then the rest.

    Compose starts nothing until every service of its call is recreated, so a service that only
    changed along (a URL rewritten in its environment) would keep a moved port dark while its
    own container is replaced. The first call takes every service publishing a port in either
    layout, everyone joining their namespaces, and everything they depend on; the second the rest.
    """
    chosen = {s for s in services
              if new.services[s].ports or (s in old.services and old.services[s].ports)}
    grown = True
    while grown:
        grown = False
        for s in services:
            if s in chosen:
                needs = (_joins(old, s) | _joins(new, s) | set(new.services[s].depends_on)) & set(services)
                if not needs <= chosen:
                    chosen |= needs
                    grown = True
            elif (_joins(old, s) | _joins(new, s)) & chosen:
                chosen.add(s)
                grown = True
    first = [s for s in services if s in chosen]
    rest = [s for s in services if s not in chosen]
    return [first, rest] if first and rest else [services]


def stops_in_order(new: Project, phase: list[str]) -> bool:
    """Whether Compose stops this call's containers one after another: a service of the call joins
    or depends on another one of it in the new layout (Compose stops the dependant first, then
    recreates what it depends on). Otherwise Compose stops them all at once already."""
    return any((_joins(new, s) | set(new.services[s].depends_on)) & (set(phase) - {s}) for s in phase)


def _up(target: ComposeTarget, services: list[str], timeout: float) -> tuple[bool, str]:
    args = ["up", "-d", "--wait", "--wait-timeout", str(max(1, int(timeout))), "--no-deps", "--force-recreate",
            *services]
    try:
        done = composecli.run(target, args, timeout=timeout + 60, check=False)
    except ConfigError as exc:
        return False, exc.message
    text = (done.stderr or done.stdout).strip()
    if done.returncode != 0:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        said = [ln for ln in lines if not _PROGRESS.match(ln)] or lines  # Compose's words, not its progress
        return False, "; ".join(said[-3:]) or f"compose up exited {done.returncode}"
    return True, ""


# Compose's progress lines ("Container x-web-1  Waiting"): what it was doing, not why it failed.
_PROGRESS = re.compile(r"^(Container|Network|Volume)\s+\S+\s+(Creating|Created|Starting|Started|Waiting|Healthy|"
                       r"Stopping|Stopped|Recreate|Recreated|Running|Removing|Removed|Exited)$")


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
        check_writable(change.file)
        new = ask_compose(change, target)
        result = ApplyResult(ok=False, written=False, notes=list(change.notes))
        if not up or engine is None:
            if up:
                result.notes.append("no engine: the file is written, containers were not touched")
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
            result.notes.append("host ports: not checked: remote engine "
                                "(they are bound on the engine's host, not here)")

        before = state_before(project, engine, containers, services)
        # The well services sharing a namespace with a changed one: "done" must hold for them too.
        mates = namespace_mates((project, new), containers, services, proc="/proc" if engine.is_local() else None)
        result.entry = write_change(change)
        result.written = True
        emit(ApplyEvent("write", f"wrote {change.file} (history #{result.entry.id})"))
        deadline = time.monotonic() + timeout
        ok, why = True, ""
        for phase in up_phases(project, new, services):
            emit(ApplyEvent("up", f"compose up {' '.join(phase)} (owners first, waiting for health)"))
            # Only where Compose would stop them one level at a time; otherwise it stops them together itself.
            together = phase if stops_in_order(new, phase) else []
            with StopTogether(engine, project.name, containers, together):
                ok, why = _up(target, phase, max(1.0, deadline - time.monotonic()))
            if not ok:
                break
        if not ok:
            result.failed, result.reason = "compose up", why
        else:
            try:
                result.checks += probe_gates(new, engine, services, deadline, emit)
                if all(c.ok for c in result.checks):
                    result.checks += verify(project, new, engine, services, deadline, emit)
            except Exception as exc:  # the engine went away mid-check: a failure like any other, put back below
                result.checks.append(Check("the engine answers", False, _failure(exc, engine)))
            bad = next((c for c in result.checks if not c.ok), None)
            if bad is not None:
                result.failed, result.reason = "verify", f"{bad.what}: {bad.detail}"
        if result.failed is None:
            verdict = stack_verdict(new, engine.project_containers(new.name), [*services, *mates],
                                    proc="/proc" if engine.is_local() else None)
            if verdict.ok:
                result.ok = True
                emit(ApplyEvent("done", f"every check passed; {verdict.text()}"))
                return result
            result.failed, result.reason = "verify", verdict.text()

        emit(ApplyEvent("failed", f"{result.failed}: {result.reason}"))
        _roll_back(change, result, project, engine, target, services, timeout, emit, before)
        return result


def _failure(exc: BaseException, engine: Engine) -> str:
    gone = lost_engine(exc, getattr(engine, "host", None))
    return str(gone) if gone is not None else f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class StateBefore:
    """What held before the change, for the rollback to be judged against: not more than that."""

    running: frozenset[str]  # services running, and not stale
    probing: frozenset[str]  # services whose x-stacktui.health probe answered


def state_before(project: Project, engine: Engine, containers: list[ContainerInfo],
                 services: list[str]) -> StateBefore:
    from stacktui.core.health.probes import probe_all

    proc = "/proc" if engine.is_local() else None
    verdict = stack_verdict(project, containers, services, proc=proc)
    running = frozenset(s for s in services if s not in verdict.failing)
    mine = [c for c in containers if c.service in services or c.service in running]
    probes = probe_all(project, mine, local_engine=engine.is_local(), engine_host=engine.endpoint.address)
    return StateBefore(running, frozenset(s for s, r in probes.items() if s in services and (r.ok or not r.checked)))


def _roll_back(change: LayoutChange, result: ApplyResult, project: Project, engine: Engine,
               target: ComposeTarget, services: list[str], timeout: float, emit: Emit,
               before: StateBefore) -> None:
    result.rolled_back = True
    assert result.entry is not None
    try:
        revert(change, result.entry, f"{result.failed}: {result.reason}")
        result.written = False
    except StackError as exc:
        result.rollback_ok, result.rollback_reason = False, f"the file was not put back: {exc}"
        emit(ApplyEvent("rollback", result.rollback_reason))
        return
    digest = sha256(change.old_text.encode("utf-8"))
    if sha256(read_bytes(change.file)) != digest:
        result.rollback_ok, result.rollback_reason = False, f"{change.file.name} is not byte-identical to before"
        emit(ApplyEvent("rollback", result.rollback_reason))
        return
    verified = [f"{change.file.name} byte-identical to before (sha256 {digest[:12]})"]
    emit(ApplyEvent("rollback", f"put {change.file} back; compose up {' '.join(services)} from it"))
    ok, why = _up(target, services, timeout)
    if ok:
        # A probe that failed before the change is the stack's state, not the rollback's failure: judged
        # are the probes that answered before, and the containers that ran (not stale) before.
        gated = [s for s in services if s in before.probing]
        try:
            passed = probe_gates(project, engine, gated, time.monotonic() + timeout, emit)
            verdict = stack_verdict(project, engine.project_containers(project.name),
                                    [s for s in services if s in before.running],
                                    proc="/proc" if engine.is_local() else None)
        except Exception as exc:  # the engine went away during the rollback's checks
            passed, verdict = [Check("the engine answers", False, _failure(exc, engine))], None
        bad = next((c for c in passed if not c.ok), None)
        if bad is not None:
            ok, why = False, f"{bad.what}: {bad.detail}"
        elif verdict is not None and not verdict.ok:
            ok, why = False, verdict.text()
        else:
            verified.append(f"running, in their owners' current namespaces as before: "
                            f"{', '.join(s for s in services if s in before.running) or 'none'}")
            verified += [f"{c.what}, as before" for c in passed]
            failing = [s for s in services if project.services[s].x.health and s not in before.probing]
            if failing:
                verified.append(f"probe of {', '.join(failing)} failing before the change too: not the rollback's")
    result.rollback_ok = ok
    result.rollback_verified = verified
    # The file is back either way; only the containers may not be: say how to bring them to it. A
    # removal the engine's stop cut short (Compose's half-done recreation) leaves that container Dead
    # once the engine is back, and a plain `up` cannot start it ("marked for removal"); recreating
    # replaces it with the rest.
    result.rollback_reason = None if ok else (
        f"{why}; {change.file.name} is as it was, the containers are not: once the engine answers, "
        f"`docker compose up -d --force-recreate {' '.join(services)}` in {change.file.parent} "
        "brings them back to it")
    emit(ApplyEvent("rollback", "previous layout running again, verified: " + "; ".join(verified) if ok
                    else f"rollback incomplete: {why}"))
