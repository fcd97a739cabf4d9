"""Counters from the engine's one-shot stats (`stream=false, one-shot=true`): for engines whose
cgroup files are not ours to read. One short call per container and refresh, never a stream;
one-shot answers carry no earlier sample, so CPU % comes from two of our readings."""
from __future__ import annotations

import time
from typing import Any

from stacktui.core.resources.figures import Reading


def reading_from_stats(container_id: str, stats: dict[str, Any], *, own_network: bool = True) -> Reading | None:
    cpu = stats.get("cpu_stats") or {}
    total = (cpu.get("cpu_usage") or {}).get("total_usage")
    memory = stats.get("memory_stats") or {}
    if total is None or "usage" not in memory:
        return None  # a stopped container answers with empty stats
    detail = memory.get("stats") or {}
    # cgroup v1 reports `cache` (its page cache, left out as `docker stats` did); v2 has no such
    # key and its page cache not in active use is `inactive_file`.
    if "cache" in detail or "total_cache" in detail:
        cache = detail.get("total_cache", detail.get("cache", 0))
    else:
        cache = detail.get("inactive_file", 0)
    usage = int(memory["usage"])
    rx = tx = None
    if own_network:
        networks = (stats.get("networks") or {}).values()
        rx = sum(int(n.get("rx_bytes", 0)) for n in networks)
        tx = sum(int(n.get("tx_bytes", 0)) for n in networks)
    return Reading(container_id, int(total), time.monotonic_ns(), usage - cache if cache < usage else usage,
                   int(memory.get("limit") or 0), rx, tx, system_ns=cpu.get("system_cpu_usage"),
                   online_cpus=cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
                   or 1, source="engine")
