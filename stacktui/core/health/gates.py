"""Gates: what must hold before a restarted service counts as back.

running - every container of the service is running;
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

from stacktui.core.engine.client import ContainerInfo, Engine, lost_engine
from stacktui.core.compose.model import Project
from stacktui.core.health.probes import probe_service
from stacktui.core.namespaces.groups import namespace_root
from stacktui.core.health.status import ProbeResult

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
                self.last_output = f"healthcheck did not finish within {self.timeout:.0f} s"
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
    spec = project.service(service)
    started = time.monotonic()
    deadline = started + timeout
    names = gate_names(project, service, known)
    result = GateResult(service, ok=False)
    url = spec.x.health
    # The probe goes through the namespace root of the URL's host: its containers are watched too.
    watched = {service}
    if url:
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname or ""
        if host in project.services:
            watched.add(namespace_root(project, host))
    watch = _Watch(engine, project, watched, known)
    restart_policy = str((spec.raw or {}).get("restart") or "no")
    runners: dict[str, _HealthRunner] = {}
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gate")
    own_client = None
    if url and client is None:
        from stacktui.core.health.httplib import load_httpx

        httpx = load_httpx()

        # Loading the CA bundle costs 0.1-0.2 s of CPU; a plain-http probe never needs it.
        client = own_client = httpx.Client(verify=not url.startswith("http://"))
    pause = FIRST_POLL

    def passed(name: str, detail: str) -> None:
        if name not in result.passed:
            result.passed.append(name)
            if on_pass:
                on_pass(name, detail)

    def fail(gate: str, reason: str, *, say_when: bool = True) -> GateResult:
        result.ok = False
        result.waiting_on = gate
        result.elapsed = time.monotonic() - started
        result.reason = f"{reason} (after {result.elapsed:.1f} s)" if say_when else reason
        return result

    try:
        while True:
            seen = watch.look()
            mine = [c for c in seen if c.service == service]
            had = result.container_ids
            result.container_ids = [c.id for c in mine]
            result.containers = seen
            pending: str | None = None
            why_pending = ""
            # running
            if had and not set(had) & set(result.container_ids):
                # Someone else removed or recreated what this step restarted. Waiting could only end
                # in following their container, on a stack they are changing: stop here instead.
                if not mine:
                    result.container_ids = had
                    return fail(RUNNING, f"{service}'s container {had[0][:12]} was removed while waiting for its "
                                         "gates, not by stacktui")
                return fail(RUNNING, f"{service}'s container {had[0][:12]} was replaced by {mine[0].id[:12]} while "
                                     "waiting for its gates: someone else recreated it")
            if not mine:
                pending, why_pending = RUNNING, f"{service} has no container"
            else:
                down = [c for c in mine if c.state != "running"]
                for c in down:
                    if c.state in ("exited", "dead") and restart_policy in NO_RESTART_POLICIES:
                        code = f" with code {c.exit_code}" + (", OOM-killed" if c.oom_killed else "")
                        return fail(RUNNING, f"running gate failed: {c.name} {c.state}{code}")
                if down:
                    pending, why_pending = RUNNING, f"{down[0].name} is {down[0].state}"
            if pending is None:
                passed(RUNNING, ", ".join(c.name for c in mine) + " running")
                if HEALTHY not in names and any(health_command(watch.raw_of(c.id)) for c in mine):
                    names.insert(1, HEALTHY)  # the image brings a healthcheck the files do not mention
            # The probe runs beside the healthcheck command: both take a moment, neither needs the other.
            probe_future: Future[ProbeResult] | None = None
            if pending is None and url and f"probe {url}" not in result.passed:
                probe_future = pool.submit(probe_service, project, seen, service, PROBE_TIMEOUT,
                                           engine.is_local(), client, engine.endpoint.address)
            # healthy: Docker's word, or the healthcheck command run now
            if pending is None and HEALTHY in names and HEALTHY not in result.passed:
                waiting = []
                for c in mine:
                    if c.health == "unhealthy":
                        result.health_output = c.health_output
                        return fail(HEALTHY, f"healthy gate failed: Docker reports {c.name} unhealthy")
                    runner = runners.get(c.id) or runners.setdefault(
                        c.id, _HealthRunner(engine, pool, c.id, watch.raw_of(c.id)))
                    if c.health == "healthy" or runner.passed:
                        continue
                    state = runner.poll()
                    if state is None and runner.future is not None:
                        # Give a fresh run a moment: it usually answers within tens of ms.
                        try:
                            runner.future.result(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
                        except Exception:  # reported through poll() below
                            pass
                        state = runner.poll()
                    if runner.last_output is not None:
                        result.health_output = runner.last_output
                    if not state:
                        waiting.append(c)
                if waiting:
                    pending = HEALTHY
                    why_pending = f"{waiting[0].name}: healthcheck not passing yet" + (
                        f" ({result.health_output})" if result.health_output else "")
                else:
                    how = "Docker reports healthy" if all(c.health == "healthy" for c in mine) else \
                        "healthcheck command passed (run by stacktui)"
                    passed(HEALTHY, how)
            if probe_future is not None:
                outcome = probe_future.result()
                result.probe = outcome
                if pending is None:
                    if outcome.ok:
                        passed(f"probe {url}", f"{url} answered {outcome.status_code} via {outcome.reached_via}")
                    elif not outcome.checked:  # a remote engine's port out of reach: no gate to hold
                        passed(f"probe {url}", f"{url} {outcome.error}")
                    else:
                        pending, why_pending = f"probe {url}", f"{url} via {outcome.reached_via}: {outcome.error}"
            if pending is None and all(n in result.passed for n in names):
                result.ok = True
                result.elapsed = time.monotonic() - started
                return result
            if cancel is not None and cancel.is_set():
                return fail(pending or names[-1], f"cancelled while waiting for {pending}: {why_pending}")
            if time.monotonic() >= deadline:
                return fail(pending or names[-1], f"{pending} gate not passed within {timeout:g} s: {why_pending}",
                            say_when=False)
            wait = min(pause, max(0.0, deadline - time.monotonic()))
            if cancel is not None:
                cancel.wait(wait)
            else:
                time.sleep(wait)
            if time.monotonic() - started >= FAST_FOR:
                pause = min(MAX_POLL, pause * 2)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if own_client is not None:
            own_client.close()

