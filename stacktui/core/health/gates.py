"""Gates: what must hold before a restarted service counts as back.

running - every container of the service is running and, for a joiner, in
          its owner's current namespaces (core.health.stale): a joiner back
          in a dead namespace is not back;
healthy - when the service has a healthcheck: Docker reports healthy, or the
          healthcheck's own command, run now by stacktui in the container,
          exits 0. Docker runs its first check only one `interval` after the
          start (the demo's 1 s would double a restart's time); running the
          same command at once gives the same verdict sooner. Docker's
          `unhealthy` fails the gate at once, as Compose's `up --wait` does;
probe   - the service's `x-stacktui.health` URL answers below 400, reached
          from the host through the namespace owner's published port.

Polls are short (20 ms for the first second, then backing off to 250 ms): a
restart is well under a second here, a container's server usually listens
within tens of ms of its start, and a coarse interval would be most of the cost.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from stacktui.core.engine.client import ContainerInfo, Engine, lost_engine
from stacktui.core.compose.model import Project
from stacktui.core.health.probes import probe_client, probe_service
from stacktui.core.namespaces.groups import chain, namespace_root
from stacktui.core.health.stale import find_stale, running_services, stale_fix
from stacktui.core.health.status import ProbeResult
from stacktui.core.durations import seconds

RUNNING, HEALTHY = "running", "healthy"
FIRST_POLL, MAX_POLL = 0.02, 0.25
FAST_FOR = 1.0  # seconds of polling at FIRST_POLL before backing off
PROBE_TIMEOUT = 2.0
NO_RESTART_POLICIES = ("", "no")


def gate_names(project: Project, service: str, containers: list[ContainerInfo] | None = None) -> list[str]:
    """The gates a step for `service` waits for, in the order they are checked.

    A healthcheck built into the image counts as much as one in the files:
    `containers` (when given) show it as a health status.
    """
    spec = project.services[service]
    gates = [RUNNING]
    image_check = any(c.service == service and c.health is not None for c in containers or [])
    if spec.has_healthcheck or image_check:
        gates.append(HEALTHY)
    if spec.x.health:
        gates.append(f"probe {spec.x.health}")
    return gates


@dataclass
class GateResult:
    service: str
    ok: bool
    passed: list[str] = field(default_factory=list)
    reason: str | None = None
    health_output: str | None = None
    probe: ProbeResult | None = None
    container_ids: list[str] = field(default_factory=list)
    containers: list[ContainerInfo] = field(default_factory=list)  # the last look: the service and its probe's root
    elapsed: float = 0.0
    waiting_on: str | None = None  # the gate that did not pass


def health_command(inspect: dict[str, Any]) -> list[str] | None:
    """The argv Docker runs for the container's healthcheck, or None without one."""
    config = inspect.get("Config") or {}
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:]) or None
    if test[0] == "CMD-SHELL":
        shell = config.get("Shell") or ["/bin/sh", "-c"]
        return [*shell, " ".join(test[1:])]
    return list(test)  # an image may store a bare argv


def _ns(value: Any, default: float) -> float:
    try:
        return float(value) / 1e9 if value else default
    except (TypeError, ValueError):
        return default


class _HealthRunner:
    """Runs a container's healthcheck command in a worker; one run in flight at a time."""

    def __init__(self, engine: Engine, pool: ThreadPoolExecutor, container_id: str, raw: dict[str, Any]) -> None:
        self.engine = engine
        self.pool = pool
        self.container_id = container_id
        self.cmd = health_command(raw)
        self.timeout = _ns(((raw.get("Config") or {}).get("Healthcheck") or {}).get("Timeout"), 30.0)
        self.future: Future[tuple[int, str]] | None = None
        self.started = 0.0
        self.last_output: str | None = None
        self.passed = False

    def poll(self) -> bool | None:
        """True passed, False failed (a new run may start), None still running or not started."""
        if self.cmd is None:
            return None
        if self.future is None:
            self.started = time.monotonic()
            self.future = self.pool.submit(self.engine.exec, self.container_id, self.cmd, self.timeout)
            return None
        if not self.future.done():
            if time.monotonic() - self.started > self.timeout:
                self.last_output = f"healthcheck did not finish within {seconds(self.timeout)}"
            return None
        fut, self.future = self.future, None
        try:
            code, output = fut.result()
        except Exception as exc:  # the container stopped under the exec, or the engine refused it
            gone = lost_engine(exc, getattr(self.engine, "host", None))
            self.last_output = f"could not run the healthcheck: {gone.message if gone is not None else exc}"
            return False
        self.last_output = output.strip() or f"exit {code}"
        self.passed = code == 0
        return self.passed


class _Watch:
    """The containers a gate looks at, fetched cheaply: one inspect each per poll once their ids are known.

    Listing the project costs a list call plus an inspect of every container;
    a gate needs only the service's own containers and the namespace root its
    probe goes through. `known` (the executor's last view) supplies the ids;
    without it, or when one is gone, the first poll lists the project.
    """

    def __init__(self, engine: Engine, project: Project, services: set[str],
                 known: list[ContainerInfo] | None) -> None:
        self.engine = engine
        self.project = project
        self.services = services
        self.ids: list[str] | None = None
        self.raw: dict[str, dict[str, Any]] = {}
        if known is not None:
            ids = [c.id for c in known if c.service in services]
            if {c.service for c in known if c.service in services} == services:
                self.ids = ids

    def look(self) -> list[ContainerInfo]:
        if self.ids is not None:
            out = []
            for cid in self.ids:
                try:
                    raw = self.engine.inspect_raw(cid)
                except Exception as exc:  # docker's NotFound: the container was replaced, list again
                    if getattr(exc, "status_code", None) != 404:
                        raise
                    self.ids = None
                    return self.look()
                self.raw[cid] = raw
                out.append(ContainerInfo.from_inspect(raw))
            return out
        listed = [c for c in self.engine.project_containers(self.project.name) if c.service in self.services]
        self.ids = [c.id for c in listed]
        return listed

    def raw_of(self, cid: str) -> dict[str, Any]:
        if cid not in self.raw:
            self.raw[cid] = self.engine.inspect_raw(cid)
        return self.raw[cid]


class _Failed(Exception):
    """A gate failed for good: the wait ends with this reason."""

    def __init__(self, gate: str, reason: str, *, say_when: bool = True) -> None:
        super().__init__(reason)
        self.gate, self.reason, self.say_when = gate, reason, say_when


class _Pending(Exception):
    """A gate does not hold yet: look again after a pause."""

    def __init__(self, gate: str, why: str) -> None:
        super().__init__(why)
        self.gate, self.why = gate, why


def _watched(project: Project, service: str, url: str | None) -> set[str]:
    """The service, every owner up its namespace chains (to judge it stale), and the root its probe goes through."""
    watched = {service}
    for kind in ("network_mode", "ipc", "pid"):
        watched.update(chain(project, service, kind))
    if url:
        host = urlsplit(url).hostname or ""
        if host in project.services:
            watched.add(namespace_root(project, host))
    return watched


class _GateWait:
    """One wait for one service's gates; each gate is one method, `run` polls them in order."""

    def __init__(self, project: Project, engine: Engine, service: str, timeout: float,
                 cancel: threading.Event | None, client: Any, on_pass: Callable[[str, str], None] | None,
                 known: list[ContainerInfo] | None) -> None:
        spec = project.service(service)
        self.project, self.engine, self.service, self.timeout = project, engine, service, timeout
        self.cancel, self.on_pass = cancel, on_pass
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.names = gate_names(project, service, known)
        self.result = GateResult(service, ok=False)
        self.url = spec.x.health
        self.watch = _Watch(engine, project, _watched(project, service, self.url), known)
        self.restart_policy = str((spec.raw or {}).get("restart") or "no")
        self.runners: dict[str, _HealthRunner] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gate")
        self.client = client
        self.own_client = None
        if self.url and client is None:
            self.client = self.own_client = probe_client(1, [self.url])

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> GateResult:
        pause = FIRST_POLL
        try:
            while True:
                try:
                    if self.poll():
                        self.result.ok = True
                        self.result.elapsed = time.monotonic() - self.started
                        return self.result
                    pending = _Pending(self.names[-1], "")
                except _Failed as failed:
                    return self.fail(failed)
                except _Pending as waiting:
                    pending = waiting
                if self.cancel is not None and self.cancel.is_set():
                    return self.fail(_Failed(pending.gate,
                                             f"cancelled while waiting for {pending.gate}: {pending.why}"))
                if time.monotonic() >= self.deadline:
                    return self.fail(_Failed(pending.gate, f"{pending.gate} gate not passed within "
                                                           f"{seconds(self.timeout)}: {pending.why}", say_when=False))
                wait = min(pause, max(0.0, self.deadline - time.monotonic()))
                if self.cancel is not None:
                    self.cancel.wait(wait)
                else:
                    time.sleep(wait)
                if time.monotonic() - self.started >= FAST_FOR:
                    pause = min(MAX_POLL, pause * 2)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
            if self.own_client is not None:
                self.own_client.close()

    def poll(self) -> bool:
        """One look at every gate: True when all hold; raises _Pending or _Failed otherwise."""
        seen = self.watch.look()
        mine = [c for c in seen if c.service == self.service]
        self.result.containers = seen
        self.check_running(mine)
        self.check_namespaces(seen)
        # The probe runs beside the healthcheck command: both take a moment, neither needs the other.
        probe = self.start_probe(seen)
        pending: _Pending | None = None
        try:
            self.check_healthy(mine)
        except _Pending as waiting:
            pending = waiting
        if probe is not None:
            outcome = probe.result()
            self.result.probe = outcome
            if pending is None and outcome is not None:  # None only for a service that declares no URL
                self.check_probe(outcome)
        if pending is not None:
            raise pending
        return all(n in self.result.passed for n in self.names)

    def passed(self, name: str, detail: str) -> None:
        if name not in self.result.passed:
            self.result.passed.append(name)
            if self.on_pass:
                self.on_pass(name, detail)

    def fail(self, failed: _Failed) -> GateResult:
        result = self.result
        result.ok = False
        result.waiting_on = failed.gate
        result.elapsed = time.monotonic() - self.started
        result.reason = f"{failed.reason} (after {result.elapsed:.2f} s)" if failed.say_when else failed.reason
        return result

    # -- the gates --------------------------------------------------------------------------------

    def check_running(self, mine: list[ContainerInfo]) -> None:
        """Every container of the service runs; one that exited under a `no` restart policy fails for good."""
        service, result = self.service, self.result
        had = result.container_ids
        result.container_ids = [c.id for c in mine]
        if had and not set(had) & set(result.container_ids):
            # Someone else removed or recreated what this step restarted. Waiting could only end
            # in following their container, on a stack they are changing: stop here instead.
            if not mine:
                result.container_ids = had
                raise _Failed(RUNNING, f"{service}'s container {had[0][:12]} was removed while waiting for its "
                                       "gates, not by stacktui")
            raise _Failed(RUNNING, f"{service}'s container {had[0][:12]} was replaced by {mine[0].id[:12]} while "
                                   "waiting for its gates: someone else recreated it")
        if not mine:
            raise _Pending(RUNNING, f"{service} has no container")
        down = [c for c in mine if c.state != "running"]
        for c in down:
            refused = self.start_error(c)
            if refused:
                raise _Failed(RUNNING, f"the engine could not start {c.name}: {refused}")
            if c.state in ("exited", "dead") and self.restart_policy in NO_RESTART_POLICIES:
                code = f" with code {c.exit_code}" + (", OOM-killed" if c.oom_killed else "")
                raise _Failed(RUNNING, f"running gate failed: {c.name} {c.state}{code}")
        if down:
            raise _Pending(RUNNING, f"{down[0].name} is {down[0].state}")
        self.passed(RUNNING, ", ".join(c.name for c in mine) + " running")
        if HEALTHY not in self.names and any(health_command(self.watch.raw_of(c.id)) for c in mine):
            self.names.insert(1, HEALTHY)  # the image brings a healthcheck the files do not mention

    def start_error(self, c: ContainerInfo) -> str:
        """The engine's own words for a start it refused (a port already allocated, a namespace gone): kept in
        State.Error of a container that is not running, and cleared by its next good start."""
        if c.state not in ("created", "exited", "dead"):
            return ""
        return " ".join(str((self.watch.raw_of(c.id).get("State") or {}).get("Error") or "").split())

    def check_namespaces(self, seen: list[ContainerInfo]) -> None:
        """A joiner counts as back only in its owner's current namespaces: running in a dead one is not back.

        Its owner being stale too cannot change while this step waits: that fails at
        once, naming the restart that repairs it (from the highest stale link).
        """
        verdicts = find_stale(self.project, seen, proc="/proc" if self.engine.is_local() else None)
        verdict = verdicts.get(self.service)
        if verdict is None:
            return
        fix = stale_fix(verdicts, self.service, running_services(seen))
        if fix.restart != self.service:
            raise _Failed(RUNNING, f"{self.service} runs but is stale: {verdict.reason}; {fix.text()}")
        raise _Pending(RUNNING, f"{self.service} runs but is stale: {verdict.reason}")

    def start_probe(self, seen: list[ContainerInfo]) -> Future[ProbeResult | None] | None:
        if not self.url or f"probe {self.url}" in self.result.passed:
            return None
        return self.pool.submit(probe_service, self.project, seen, self.service, PROBE_TIMEOUT,
                                self.engine.is_local(), self.client, self.engine.endpoint.address)

    def check_healthy(self, mine: list[ContainerInfo]) -> None:
        """Docker's word, or the healthcheck command run now; Docker's `unhealthy` fails at once."""
        result = self.result
        if HEALTHY not in self.names or HEALTHY in result.passed:
            return
        waiting = []
        for c in mine:
            if c.health == "unhealthy":
                result.health_output = c.health_output
                raise _Failed(HEALTHY, f"healthy gate failed: Docker reports {c.name} unhealthy")
            runner = self.runners.get(c.id) or self.runners.setdefault(
                c.id, _HealthRunner(self.engine, self.pool, c.id, self.watch.raw_of(c.id)))
            if c.health == "healthy" or runner.passed:
                continue
            if not self.run_healthcheck(runner):
                waiting.append(c)
        if waiting:
            raise _Pending(HEALTHY, f"{waiting[0].name}: healthcheck not passing yet" + (
                f" ({result.health_output})" if result.health_output else ""))
        how = "Docker reports healthy" if all(c.health == "healthy" for c in mine) else \
            "healthcheck command passed (run by stacktui)"
        self.passed(HEALTHY, how)

    def run_healthcheck(self, runner: _HealthRunner) -> bool | None:
        state = runner.poll()
        if state is None and runner.future is not None:
            # Give a fresh run a moment: it usually answers within tens of ms.
            try:
                runner.future.result(timeout=max(0.0, min(1.0, self.deadline - time.monotonic())))
            except Exception:  # reported through poll() below
                pass
            state = runner.poll()
        if runner.last_output is not None:
            self.result.health_output = runner.last_output
        return state

    def check_probe(self, outcome: ProbeResult) -> None:
        url = self.url
        if outcome.ok:
            self.passed(f"probe {url}", f"{url} answered {outcome.status_code} via {outcome.reached_via}")
        elif not outcome.checked:  # a remote engine's port out of reach: no gate to hold
            self.passed(f"probe {url}", f"{url} {outcome.error}")
        else:
            raise _Pending(f"probe {url}", f"{url} via {outcome.reached_via}: {outcome.error}")


def wait_for_gates(
    project: Project,
    engine: Engine,
    service: str,
    timeout: float,
    cancel: threading.Event | None = None,
    *,
    client: Any = None,
    on_pass: Callable[[str, str], None] | None = None,
    known: list[ContainerInfo] | None = None,
) -> GateResult:
    """Wait until every gate of `service` holds, a gate fails for good, the timeout passes, or cancel is set.

    `known` is an optional recent view of the project's containers (ids are
    taken from it; states are always inspected afresh).
    """
    return _GateWait(project, engine, service, timeout, cancel, client, on_pass, known).run()
