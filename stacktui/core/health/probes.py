"""HTTP probes of `x-stacktui.health` URLs, reached from the host.

A URL names services the way containers do (`http://vscode:9001/health`).
From the host, stacktui reaches it through the port published by that
service's namespace owner, else the container's own address on a local Linux
engine, and says which it used.
"""
from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.compose.model import Project
from stacktui.core.namespaces.groups import namespace_root
from stacktui.core.health.status import ProbeResult
from stacktui.core.loop import Loop

if TYPE_CHECKING:  # ssl (~10 ms to import) only when an https probe needs a context: not on a restart's path
    import ssl

DEFAULT_TIMEOUT = 3.0
DEFAULT_INTERVAL = 5.0
MAX_PARALLEL = 64


@dataclass(frozen=True)
class Route:
    url: str  # what is requested
    how: str  # how it maps to the declared URL, for the user


class NotChecked(LookupError):
    """A probe that cannot be made from here (a remote engine): no verdict, not a failure."""


def _loopback(ip: str) -> bool:
    return ip in ("localhost", "::1") or ip.startswith("127.")


def route(project: Project, containers: list[ContainerInfo], url: str, local_engine: bool = True,
          engine_host: str | None = None) -> Route:
    """Where on the host a container-side URL can be reached; raises LookupError when nowhere.

    A remote engine publishes on its own host: `engine_host` (its address as this machine
    reaches it) stands in for 0.0.0.0, and a port bound to its loopback is out of reach
    unless that host is this one (NotChecked: "not checked: remote engine").
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host not in project.services:
        return Route(url, "as written")
    owner = namespace_root(project, host)
    running = {c.service: c for c in containers if c.state == "running"}
    owner_c = running.get(owner)
    if owner_c is None:
        raise LookupError(f"{owner} (which owns {host}'s network) is not running")
    via = f", published by {owner}" if owner != host else ""
    for p in owner_c.ports:
        if p.container_port == port and p.protocol == "tcp":
            ip = "127.0.0.1" if p.host_ip in ("", "0.0.0.0", "::") else p.host_ip
            if not local_engine:
                if engine_host is None:
                    raise NotChecked(f"not checked: remote engine (port {port} of {host} is published on its host)")
                if p.host_ip in ("", "0.0.0.0", "::"):
                    ip = engine_host
                elif _loopback(p.host_ip) and not _loopback(engine_host):
                    raise NotChecked(f"not checked: remote engine (port {port} of {host} is published on "
                                     f"{p.host_ip} of {engine_host}, out of reach from here)")
            netloc = f"[{ip}]:{p.host_port}" if ":" in ip else f"{ip}:{p.host_port}"
            return Route(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
                         f"host port {ip}:{p.host_port}{via}")
    if local_engine:
        for net, ip in sorted(owner_c.ip_addresses.items()):
            return Route(urlunsplit((parts.scheme, f"{ip}:{port}", parts.path, parts.query, "")),
                         f"container address {ip} on {net}{via}")
        raise LookupError(f"port {port} of {host} is not published and {owner} has no address")
    raise NotChecked(f"not checked: remote engine (port {port} of {host} is not published)")


def _unrouted(service: str, url: str, exc: LookupError) -> ProbeResult:
    return ProbeResult(service, url, "unreachable", False, error=str(exc), at=datetime.now(timezone.utc),
                       checked=not isinstance(exc, NotChecked))


@functools.cache
def _tls() -> ssl.SSLContext:
    # Made once: httpx builds a fresh one per client otherwise, ~40 ms each time.
    import ssl

    return ssl.create_default_context()


def probe_client(size: int = 10, urls: list[str] | None = None) -> Any:
    """The client every probe goes through (status, watch, and the gates of a restart or a layout
    change). Given the URLs it will fetch, and none of them https, it never loads the CA bundle
    (60-70 ms of CPU, most of a one-shot `stacktui status`'s own work besides imports). With
    redirects off, a plain-http client cannot be sent on to an https URL."""
    from stacktui.core.health.httplib import load_httpx

    httpx = load_httpx()

    tls = urls is None or any(not u.startswith("http://") for u in urls)
    # trust_env=False: a proxy from the environment must not carry probes meant for this host.
    return httpx.Client(trust_env=False, follow_redirects=False, verify=_tls() if tls else False,
                        limits=httpx.Limits(max_connections=max(size, 1), max_keepalive_connections=0))


def probe(service: str, url: str, target: Route | None, timeout: float = DEFAULT_TIMEOUT,
          client: Any = None) -> ProbeResult:
    """One request; any answer below 400 is a pass. Never raises."""
    from stacktui.core.health.httplib import load_httpx

    httpx = load_httpx()

    at = datetime.now(timezone.utc)
    if target is None:
        return ProbeResult(service, url, "unreachable", False, error="no route from the host", at=at)
    started = time.perf_counter()
    try:
        if client is not None:
            reply = client.get(target.url, timeout=timeout)
        else:
            with probe_client(1, [target.url]) as own:
                reply = own.get(target.url, timeout=timeout)
        ok = reply.status_code < 400
        return ProbeResult(service, url, target.how, ok, status_code=reply.status_code,
                           error=None if ok else f"HTTP {reply.status_code}",
                           elapsed_ms=(time.perf_counter() - started) * 1000, at=at)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return ProbeResult(service, url, target.how, False, error=f"{type(exc).__name__}: {exc}".rstrip(": "),
                           elapsed_ms=(time.perf_counter() - started) * 1000, at=at)


def probe_service(project: Project, containers: list[ContainerInfo], service: str,
                  timeout: float = DEFAULT_TIMEOUT, local_engine: bool = True,
                  client: Any = None, engine_host: str | None = None) -> ProbeResult | None:
    """Probe a service's declared URL; None when it declares none. A shared httpx client saves
    building one (and possibly loading the CA bundle) per probe."""
    url = project.services[service].x.health
    if not url:
        return None
    try:
        target = route(project, containers, url, local_engine, engine_host)
    except LookupError as exc:
        return _unrouted(service, url, exc)
    return probe(service, url, target, timeout, client=client)


def probe_all(project: Project, containers: list[ContainerInfo], timeout: float = DEFAULT_TIMEOUT,
              local_engine: bool = True, client: Any = None,
              engine_host: str | None = None) -> dict[str, ProbeResult]:
    """Every declared probe at once, each bounded by `timeout`: the round takes as long as the slowest.

    Services without `x-stacktui.health` are absent from the result. Never raises. A caller
    that probes again and again passes its own `client`: a new one builds an SSL context each
    time, which alone costs about a percent of a core at one round every 5 s.
    """
    jobs: list[tuple[str, str, Route | None, LookupError | None]] = []
    for name, spec in project.services.items():
        url = spec.x.health
        if not url:
            continue
        try:
            jobs.append((name, url, route(project, containers, url, local_engine, engine_host), None))
        except LookupError as exc:
            jobs.append((name, url, None, exc))
    results: dict[str, ProbeResult] = {}
    routed = [(n, u, r) for n, u, r, _ in jobs if r is not None]
    for name, url, _, why in jobs:
        if why is not None:
            results[name] = _unrouted(name, url, why)
    if routed:
        own = client is None
        use = probe_client(len(routed), [r.url for _, _, r in routed]) if own else client
        try:
            with ThreadPoolExecutor(max_workers=min(len(routed), MAX_PARALLEL),
                                    thread_name_prefix="stacktui-probe") as pool:
                for result in pool.map(lambda job: probe(job[0], job[1], job[2], timeout, use), routed):
                    results[result.service] = result
        finally:
            if own:
                use.close()
    return {name: results[name] for name, *_ in jobs}  # in declared order


class ProbeScheduler:
    """Runs probe_all every `interval` seconds in a thread of its own and hands each round to a callback.

    `containers` is called at the start of every round, so routes follow restarts; a round
    is skipped while `paused()` says so (the engine is away). The callback runs in the
    scheduler's thread; nothing here blocks the caller. `interval` and `project` can be
    changed while it runs. One HTTP client serves every round.
    """

    def __init__(self, project: Project, containers: Callable[[], list[ContainerInfo]],
                 on_results: Callable[[Mapping[str, ProbeResult]], None], *,
                 interval: float = DEFAULT_INTERVAL, timeout: float = DEFAULT_TIMEOUT,
                 local_engine: bool = True, on_error: Callable[[Exception], None] | None = None,
                 paused: Callable[[], bool] = lambda: False, engine_host: str | None = None) -> None:
        if interval <= 0:
            raise ValueError("probe interval must be positive")
        self.project = project
        self._containers = containers
        self._on_results = on_results
        self._on_error = on_error
        self._paused = paused
        self._interval = interval
        self.timeout = timeout
        self.local_engine = local_engine
        self.engine_host = engine_host
        self._loop = Loop("stacktui-probes", self._run)
        self._next_at: float | None = None  # a round asked for sooner than the interval
        self._lock = threading.Lock()
        self.rounds = 0

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("probe interval must be positive")
        self._interval = seconds
        self._loop.wake()  # the new interval counts from now, not after the old one ran out

    def start(self) -> "ProbeScheduler":
        self._loop.start()
        return self

    def probe_now(self, after: float = 0.0) -> None:
        """Start a round `after` seconds from now (after the one under way, if any): a restart
        is given a moment to settle before its service is asked again."""
        at = time.monotonic() + after
        with self._lock:
            if self._next_at is None or at < self._next_at:
                self._next_at = at
        self._loop.wake()

    def stop(self, wait: float = 5.0) -> None:
        self._loop.stop(wait)

    @property
    def running(self) -> bool:
        return self._loop.alive

    def _due(self, started: float) -> float:
        """Seconds until the next round: the interval, or sooner when one was asked for."""
        with self._lock:
            asked = self._next_at
        left = self._interval - (time.monotonic() - started)
        if asked is not None:
            left = min(left, asked - time.monotonic())
        return left

    def _run(self) -> None:
        client = probe_client(MAX_PARALLEL)
        try:
            while not self._loop.stopping:
                started = time.monotonic()
                with self._lock:
                    self._next_at = None
                try:
                    if not self._paused():
                        results = probe_all(self.project, self._containers(), self.timeout, self.local_engine,
                                            client=client, engine_host=self.engine_host)
                        if not self._loop.stopping:
                            self.rounds += 1
                            self._on_results(results)
                except Exception as exc:  # an engine hiccup must not end the probing for good
                    if self._on_error is not None:
                        self._on_error(exc)
                while not self._loop.stopping:
                    left = self._due(started)
                    if left <= 0:
                        break
                    self._loop.sleep(left)
        finally:
            client.close()
