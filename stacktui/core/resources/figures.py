"""One reading of a container's counters, and the figures a user sees, worked out from two readings."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    """Cumulative counters of one container at one moment."""

    container_id: str
    cpu_ns: int  # CPU time used since the container started
    wall_ns: int  # when it was read (a monotonic clock), for CPU % between two readings
    mem_bytes: int  # usage minus the page cache, as `docker stats` shows it
    mem_limit_bytes: int  # the container's limit, or the machine's memory without one
    rx_bytes: int | None  # None when the container has no network of its own
    tx_bytes: int | None
    system_ns: int | None = None  # the engine's whole-machine CPU clock (one-shot stats only)
    online_cpus: int | None = None
    source: str = "cgroup"  # "cgroup" (files read directly) or "engine" (one-shot stats)


@dataclass(frozen=True)
class Figures:
    """What the services table and `status --json` show for one running service."""

    service: str
    container_id: str
    cpu_percent: float | None  # of one core, as `docker stats` (200 = two cores busy); None on a first reading
    mem_bytes: int
    mem_limit_bytes: int
    rx_bytes: int | None
    tx_bytes: int | None
    net_shared_with: str | None = None  # the owner, for a container in another's network namespace
    source: str = "cgroup"


def cpu_percent(before: Reading | None, now: Reading) -> float | None:
    """CPU % between two readings of one container.

    With the engine's machine clock (one-shot stats) as `docker stats` computes it; from the
    cgroup files, CPU time over wall time. None without an earlier reading to compare with.
    """
    if before is None or before.container_id != now.container_id or now.cpu_ns < before.cpu_ns:
        return None  # a restarted container's counters start again
    used = now.cpu_ns - before.cpu_ns
    if now.system_ns is not None and before.system_ns is not None and now.system_ns > before.system_ns:
        return round(used / (now.system_ns - before.system_ns) * (now.online_cpus or 1) * 100, 2)
    wall = now.wall_ns - before.wall_ns
    if wall <= 0:
        return None
    return round(used / wall * 100, 2)
