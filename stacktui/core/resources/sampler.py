"""The figures of a project's running containers, refreshed by whoever asks (the TUI every 2 s,
`status --json` twice).

Local engine: the cgroup files of each running container (no engine call at all). Elsewhere,
or when a container's files are not ours to read: one one-shot stats call per container, a few
at a time. CPU % needs two readings, so the sampler keeps the last one of each container.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Iterable

from stacktui.core.resources.cgroup import read_cgroup
from stacktui.core.resources.engine_stats import reading_from_stats
from stacktui.core.resources.figures import Figures, Reading, cpu_percent

if TYPE_CHECKING:
    from stacktui.core.engine.client import ContainerInfo, Engine

KEEP_LAST_NS = 60 * 10**9
STATS_THREADS = 4  # one-shot calls in flight at once: each makes the engine read a cgroup


class ResourceSampler:
    def __init__(self, engine: "Engine", *, use_cgroups: bool | None = None) -> None:
        self.engine = engine
        # A local socket usually means the containers' cgroups are on this machine; each reading
        # still checks that the files are the container's, and asks the engine when they are not.
        self.use_cgroups = engine.is_local() if use_cgroups is None else use_cgroups
        self._last: dict[str, Reading] = {}
        self._read_at = 0.0

    def read(self, containers: Iterable["ContainerInfo"], *, min_gap: float = 0.0) -> dict[str, Figures]:
        """Figures by service for the running containers; CPU % over the time since the last read.

        `min_gap` waits until at least that long after the previous read, so a command that
        reads twice gets a CPU figure over a known window.
        """
        wait = self._read_at + min_gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        containers = list(containers)
        service_of = {c.id: c.service for c in containers}
        running = [c for c in containers if c.state == "running"]
        readings: dict[str, Reading] = {}
        ask_engine = []
        for c in running:
            got = read_cgroup(c.id, c.pid, own_network=_own_network(c)) if self.use_cgroups else None
            if got is None:
                ask_engine.append(c)
            else:
                readings[c.id] = got
        if ask_engine:
            with ThreadPoolExecutor(min(STATS_THREADS, len(ask_engine))) as pool:
                for c, got in zip(ask_engine, pool.map(self._from_engine, ask_engine)):
                    if got is not None:
                        readings[c.id] = got
        self._read_at = time.monotonic()
        figures: dict[str, Figures] = {}
        for c in running:
            now = readings.get(c.id)
            if now is None or c.service in figures:
                continue
            joined = c.joined("network")
            shared = "host" if c.network_mode == "host" else (service_of.get(joined, joined[:12]) if joined else None)
            figures[c.service] = Figures(c.service, c.id, cpu_percent(self._last.get(c.id), now), now.mem_bytes,
                                         now.mem_limit_bytes, now.rx_bytes, now.tx_bytes, shared, now.source)
        # A container left out of a round (the TUI reads the rows on screen every round, the rest
        # every few) keeps its last reading a while, for its next CPU figure; gone ones are forgotten.
        now_ns = time.monotonic_ns()
        kept = {k: v for k, v in self._last.items() if k not in readings and now_ns - v.wall_ns < KEEP_LAST_NS}
        self._last = {**kept, **readings}
        return figures

    def _from_engine(self, c: "ContainerInfo") -> Reading | None:
        try:
            stats = self.engine.stats_once(c.id)
        except Exception as exc:
            if getattr(exc, "status_code", None) in (404, 409):
                return None  # gone or stopped since the listing
            raise
        return reading_from_stats(c.id, stats, own_network=_own_network(c))


def _own_network(c: "ContainerInfo") -> bool:
    """A joiner's (or a host-network container's) counters are another's: counting them again would lie."""
    return c.joined("network") is None and c.network_mode != "host"
