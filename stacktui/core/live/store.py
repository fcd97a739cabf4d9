"""Bounded log memory: one ring buffer per service, a merged view, and what arrived since last asked.

Readers (one thread per followed container) append batches; the UI drains what
is new every few tens of milliseconds and redraws once per batch. Memory is
bounded by `max_lines` per service whatever a container prints.
"""
from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from typing import Callable, Iterable

from stacktui.core.engine.loglines import LogLine

DEFAULT_MAX_LINES = 20_000
DEFAULT_HISTORY = 1000  # lines of history fetched when a container is first followed
PENDING_LIMIT = 200_000  # beyond this the reader of `drain` is told to redraw from the buffers


def now_ns() -> int:
    return time.time_ns()


class LogStore:
    """Thread-safe per-service ring buffers of LogLine."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES, pending_limit: int = PENDING_LIMIT) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self.max_lines = max_lines
        self._pending_limit = pending_limit
        self._buffers: dict[str, deque[LogLine]] = {}
        self._pending: list[LogLine] = []
        self._overflowed = False
        self.arrived = 0  # lines appended in all; a reader compares two looks to see whether lines still come
        self._lock = threading.Lock()
        self.on_pending: Callable[[], None] | None = None  # called when new lines wait and none did before

    def append(self, service: str, lines: Iterable[LogLine]) -> int:
        """Add a batch for one service; returns how many lines were added."""
        wake = False
        with self._lock:
            buf = self._buffers.get(service)
            if buf is None:
                buf = self._buffers[service] = deque(maxlen=self.max_lines)
            added = lines if isinstance(lines, list) else list(lines)
            buf.extend(added)
            self.arrived += len(added)
            if added and not self._overflowed:  # once overflowed, the reader redraws from the buffers anyway
                wake = not self._pending
                if len(self._pending) + len(added) > self._pending_limit:
                    self._pending.clear()
                    self._overflowed = True
                else:
                    self._pending.extend(added)
        if wake and self.on_pending is not None:
            self.on_pending()
        return len(added)

    def drain(self) -> tuple[list[LogLine], bool]:
        """Lines appended since the last drain, and whether some were dropped (then redraw from `lines`)."""
        with self._lock:
            pending, overflowed = self._pending, self._overflowed
            self._pending, self._overflowed = [], False
        return pending, overflowed

    def lines(self, service: str, *, drain: bool = False) -> list[LogLine]:
        """One service's stored lines. `drain`: a reader drawing everything from them is told of no
        line twice: what waits for `drain` is dropped in the same look (they are among these)."""
        with self._lock:
            if drain:
                self._pending, self._overflowed = [], False
            return list(self._buffers.get(service, ()))

    def merged(self, services: Iterable[str] | None = None, *, drain: bool = False) -> list[LogLine]:
        """Every service's lines interleaved by engine timestamp (arrival order breaks ties); `drain` as in lines."""
        with self._lock:
            if drain:
                self._pending, self._overflowed = [], False
            names = list(self._buffers) if services is None else [s for s in services if s in self._buffers]
            parts = [list(self._buffers[name]) for name in names]
        # Each buffer is nearly sorted already (one container's clock); sort each, then merge. Both
        # are stable, so lines of the same time keep their arrival order.
        for part in parts:
            part.sort(key=_order)
        return list(heapq.merge(*parts, key=_order))

    def services(self) -> list[str]:
        with self._lock:
            return list(self._buffers)

    def count(self, service: str | None = None) -> int:
        with self._lock:
            if service is not None:
                return len(self._buffers.get(service, ()))
            return sum(len(b) for b in self._buffers.values())


def _order(line: LogLine) -> int:
    return line.key
