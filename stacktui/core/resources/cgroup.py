"""Counters read straight from a local container's cgroup and network namespace files.

Reading a few small files costs nothing the engine notices, where a stats call per
container and refresh makes the engine collect them itself (moby#39664). The cgroup is
found from the container's init PID (/proc/PID/cgroup) and must name the container's
id, so a PID reused by another process or an engine in a VM (its PIDs are not ours)
reads as None and the caller asks the engine instead.

What a reading costs is what the TUI pays every 2 s per container (200 of them: the rows on
screen every round, the rest every fifth): where the files are is found once per container and
PID, the machine's memory once, and the counters are read with plain os.read (Path.read_text's
text layer cost 2-4x the read itself), so a reading is five small files: CPU, memory usage,
memory.stat (the page cache to leave out), the limit (`docker update` can change it) and the
network counters.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from stacktui.core.resources.figures import Reading

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
UNLIMITED = 1 << 62  # cgroup v1 writes "no limit" as a number near 2**63
_LAYOUTS_KEPT = 2048  # containers whose files are remembered; past it the memory starts again


def cgroup_paths(pid: int, proc: Path = PROC) -> dict[str, str]:
    """Controller -> path from /proc/PID/cgroup ("" is the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    for line in _read(f"{proc}/{pid}/cgroup").decode().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            out[name] = path
    return out


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def _read_int(path: str) -> int:
    return int(_read(path).split()[0])


def _stat_value(path: str, *keys: bytes) -> int | None:
    """The first of keys found in a `key value` file (memory.stat, cpu.stat)."""
    found: dict[bytes, bytes] = {}
    for line in _read(path).split(b"\n"):
        key, _, value = line.partition(b" ")
        if key in keys:
            found[key] = value
    for key in keys:
        if key in found and found[key].strip().isdigit():
            return int(found[key])
    return None


def _first_dir(root: Path, names: tuple[str, ...], path: str) -> Path | None:
    for name in names:
        found = root / name / path.lstrip("/")
        if found.is_dir():
            return found
    return None


_machine: dict[str, int] = {}


def machine_memory(proc: Path = PROC) -> int:
    """MemTotal, read once per /proc (it does not change while we run)."""
    key = str(proc)
    if key not in _machine:
        total = 0
        for line in _read(f"{proc}/meminfo").decode().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
                break
        _machine[key] = total
    return _machine[key]


def network_bytes(pid: int, proc: Path = PROC) -> tuple[int, int]:
    """Bytes received and sent by every interface of the process's network namespace but lo."""
    rx = tx = 0
    for line in _read(f"{proc}/{pid}/net/dev").split(b"\n")[2:]:
        name, _, counters = line.partition(b":")
        if not counters or name.strip() == b"lo":
            continue
        fields = counters.split()
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


@dataclass(frozen=True)
class _Files:
    """Where one container's counters are: found from /proc/PID/cgroup, checked to be its own."""

    v1: bool
    cpu: str  # v1 cpuacct.usage (ns), v2 cpu.stat (usage_usec)
    usage: str  # v1 memory.usage_in_bytes, v2 memory.current
    stat: str  # memory.stat
    limit: str  # v1 memory.limit_in_bytes, v2 memory.max


_files: dict[tuple[str, int, str, str], _Files] = {}


def _find_files(container_id: str, pid: int, root: Path, proc: Path) -> _Files | None:
    paths = cgroup_paths(pid, proc)
    if "memory" in paths:  # cgroup v1 (or hybrid: v1 controllers beside an empty unified tree)
        mem_dir = _first_dir(root, ("memory",), paths["memory"])
        cpu_path = paths.get("cpuacct") or paths.get("cpu") or ""
        cpu_dir = _first_dir(root, ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"), cpu_path)
        if mem_dir is None or cpu_dir is None or container_id not in paths["memory"]:
            return None
        return _Files(True, f"{cpu_dir}/cpuacct.usage", f"{mem_dir}/memory.usage_in_bytes", f"{mem_dir}/memory.stat",
                      f"{mem_dir}/memory.limit_in_bytes")
    path = paths.get("")
    group = _first_dir(root, ("", "unified"), path) if path else None
    if group is None or not path or container_id not in path or not (group / "cpu.stat").exists():
        return None
    return _Files(False, f"{group}/cpu.stat", f"{group}/memory.current", f"{group}/memory.stat", f"{group}/memory.max")


def read_cgroup(container_id: str, pid: int, *, own_network: bool = True, root: Path = CGROUP_ROOT,
                proc: Path = PROC) -> Reading | None:
    """One reading from the files, or None when they are not this container's (or not readable)."""
    if pid <= 0:
        return None
    key = (container_id, pid, str(root), str(proc))
    try:
        files = _files.get(key)
        if files is None:
            files = _find_files(container_id, pid, root, proc)
            if files is None:
                return None
            if len(_files) >= _LAYOUTS_KEPT:
                _files.clear()
            _files[key] = files
        if files.v1:
            cpu_ns = _read_int(files.cpu)
            usage = _read_int(files.usage)
            cache = _stat_value(files.stat, b"total_cache", b"cache") or 0  # v1: `docker stats` leaves out the cache
            limit = _read_int(files.limit)
        else:
            usec = _stat_value(files.cpu, b"usage_usec")
            if usec is None:
                raise KeyError("usage_usec")
            cpu_ns = usec * 1000
            usage = _read_int(files.usage)
            cache = _stat_value(files.stat, b"inactive_file") or 0  # v2: the inactive page cache
            raw = _read(files.limit).strip()
            limit = UNLIMITED if raw == b"max" else int(raw)
        machine = machine_memory(proc)
        rx, tx = network_bytes(pid, proc) if own_network else (None, None)
        at = time.monotonic_ns()
    except (OSError, ValueError, KeyError, IndexError):
        _files.pop(key, None)  # the container stopped (its cgroup went with it): found again if it comes back
        return None  # ... or this is not a layout we know: ask the engine
    mem = usage - cache if cache < usage else usage
    if machine and limit >= machine:
        limit = machine  # as the engine reports "no limit": the machine's memory
    return Reading(container_id, cpu_ns, at, mem, limit, rx, tx, source="cgroup")
