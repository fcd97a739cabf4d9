"""The TUI's resource refresh: a thread that reads the figures every few seconds and hands them on.

One reading of every running container per refresh (cgroup files on a local engine, one-shot
stats elsewhere), whatever the number of containers; the containers come from whoever knows
them (the Watcher's last snapshot), so the refresh itself lists nothing. It keeps the last
minutes of each service's CPU and memory for the detail view's sparklines.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Callable, Sequence

from stacktui.core.loop import Loop
from stacktui.core.resources.figures import Figures
from stacktui.core.resources.sampler import ResourceSampler

if TYPE_CHECKING:
    from stacktui.core.engine.client import ContainerInfo, Engine

log = logging.getLogger(__name__)

HISTORY_SECONDS = 300  # what the detail view plots


class FigureHistory:
    """The last HISTORY_SECONDS of CPU % and memory bytes per service (oldest first)."""

    def __init__(self, points: int) -> None:
        self.points = max(2, points)
        self._cpu: dict[str, deque[float]] = {}
        self._mem: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def add(self, figures: dict[str, Figures]) -> None:
        with self._lock:
            for service, f in figures.items():
                if f.cpu_percent is not None:
                    self._cpu.setdefault(service, deque(maxlen=self.points)).append(f.cpu_percent)
                self._mem.setdefault(service, deque(maxlen=self.points)).append(f.mem_bytes)

    def cpu(self, service: str) -> list[float]:
        with self._lock:
            return list(self._cpu.get(service, ()))

    def mem(self, service: str) -> list[int]:
        with self._lock:
            return list(self._mem.get(service, ()))


class ResourceMonitor:
    """Reads figures every `interval` seconds in a daemon thread until stop()."""

    def __init__(self, engine: "Engine", containers: Callable[[], Sequence["ContainerInfo"]],
                 on_figures: Callable[[dict[str, Figures]], None], *, interval: float = 2.0,
                 sampler: ResourceSampler | None = None) -> None:
        self.interval = interval
        self.sampler = sampler or ResourceSampler(engine)
        self.history = FigureHistory(int(HISTORY_SECONDS / interval))
        self._containers = containers
        self._on_figures = on_figures
        self._loop = Loop("resources", self._run)

    def start(self) -> "ResourceMonitor":
        self._loop.start()
        return self

    def _run(self) -> None:
        while not self._loop.stopping:
            try:
                figures = self.sampler.read(self._containers())
            except Exception as exc:  # the engine went away: the watcher says so; try again next time
                log.debug("resource figures not read: %s", exc)
            else:
                self.history.add(figures)
                if not self._loop.stopping:
                    self._on_figures(figures)
            self._loop.pause(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._loop.stop(timeout)
