"""Counters read straight from a local container's cgroup and network namespace files.

Reading a few small files costs nothing the engine notices, where a stats call per
container and refresh makes the engine collect them itself (moby#39664). The cgroup is
found from the container's init PID (/proc/PID/cgroup) and must name the container's
id, so a PID reused by another process or an engine in a VM (its PIDs are not ours)
reads as None and the caller asks the engine instead.
"""
from __future__ import annotations

import time
from pathlib import Path

from stacktui.core.resources.figures import Reading

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
UNLIMITED = 1 << 62  # cgroup v1 writes "no limit" as a number near 2**63


def cgroup_paths(pid: int, proc: Path = PROC) -> dict[str, str]:
    """Controller -> path from /proc/PID/cgroup ("" is the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    for line in (proc / str(pid) / "cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            out[name] = path
    return out


def _read_int(path: Path) -> int:
    return int(path.read_text().split()[0])


def _stat(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def _first_dir(root: Path, names: tuple[str, ...], path: str) -> Path | None:
    for name in names:
        found = root / name / path.lstrip("/")
        if found.is_dir():
            return found
    return None


def machine_memory(proc: Path = PROC) -> int:
    for line in (proc / "meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def network_bytes(pid: int, proc: Path = PROC) -> tuple[int, int]:
    """Bytes received and sent by every interface of the process's network namespace but lo."""
    rx = tx = 0
    for line in (proc / str(pid) / "net" / "dev").read_text().splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() == "lo":
            continue
        fields = counters.split()
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


def read_cgroup(container_id: str, pid: int, *, own_network: bool = True, root: Path = CGROUP_ROOT,
                proc: Path = PROC) -> Reading | None:
    """One reading from the files, or None when they are not this container's (or not readable)."""
    if pid <= 0:
        return None
    try:
        paths = cgroup_paths(pid, proc)
        if "memory" in paths:  # cgroup v1 (or hybrid: v1 controllers beside an empty unified tree)
            mem_dir = _first_dir(root, ("memory",), paths["memory"])
            cpu_path = paths.get("cpuacct") or paths.get("cpu") or ""
            cpu_dir = _first_dir(root, ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"), cpu_path)
            if mem_dir is None or cpu_dir is None or container_id not in paths["memory"]:
                return None
            cpu_ns = _read_int(cpu_dir / "cpuacct.usage")
            stat = _stat(mem_dir / "memory.stat")
            usage = _read_int(mem_dir / "memory.usage_in_bytes")
            cache = stat.get("total_cache", stat.get("cache", 0))  # v1: `docker stats` leaves out the cache
            limit = _read_int(mem_dir / "memory.limit_in_bytes")
        else:
            path = paths.get("")
            group = _first_dir(root, ("", "unified"), path) if path else None
            if group is None or container_id not in path or not (group / "cpu.stat").exists():
                return None
            cpu_ns = _stat(group / "cpu.stat")["usage_usec"] * 1000
            usage = _read_int(group / "memory.current")
            cache = _stat(group / "memory.stat").get("inactive_file", 0)  # v2: the inactive page cache
            raw = (group / "memory.max").read_text().strip()
            limit = UNLIMITED if raw == "max" else int(raw)
        machine = machine_memory(proc)
        rx, tx = network_bytes(pid, proc) if own_network else (None, None)
        at = time.monotonic_ns()
    except (OSError, ValueError, KeyError, IndexError):
        return None  # the container stopped mid-read, or this is not a layout we know: ask the engine
    mem = usage - cache if cache < usage else usage
    if machine and limit >= machine:
        limit = machine  # as the engine reports "no limit": the machine's memory
    return Reading(container_id, cpu_ns, at, mem, limit, rx, tx, source="cgroup")
