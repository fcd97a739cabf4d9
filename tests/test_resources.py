"""Resource figures: what `status --json` says matches the container's own cgroup files, read here
independently; a joiner's network says whose it is; the engine's one-shot stats agree.

The owner burns a fifth of a core (cpus: 0.2) and has written 16 MB to a file, so its page cache
is large: a figure that forgot to leave the cache out would be 16 MB too high.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from stacktui.core.resources.cgroup import read_cgroup
from stacktui.core.resources.engine_stats import reading_from_stats
from stacktui.core.resources.figures import Reading, cpu_percent
from stacktui.core.resources.sampler import ResourceSampler

MIB = 1024 * 1024
COMPOSE = """
services:
  owner:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=16 2>/dev/null; while :; do :; done"]
    cpus: 0.2
    mem_limit: 64m
    stop_grace_period: 1s
  joiner:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sleep", "600"]
    network_mode: "service:owner"
    stop_grace_period: 1s
  oneshot:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["true"]
"""


@pytest.fixture(scope="module")
def busy_stack(text_stack):
    stack = text_stack(COMPOSE)
    stack.compose("up", "-d")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the fill file written and its cache charged
        files = CgroupFiles.of(stack, "owner")
        if files is not None and files.cache() >= 16 * MIB:
            break
        time.sleep(0.2)
    return stack


class CgroupFiles:
    """The container's cgroup v1 or v2 files, found and read here without stacktui's code."""

    def __init__(self, pid: int, cid: str) -> None:
        self.pid = pid
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        by_controller = {c: path for _, cs, path in (line.split(":", 2) for line in lines) for c in cs.split(",")}
        self.v1 = "memory" in by_controller
        if self.v1:
            self.mem = Path("/sys/fs/cgroup/memory") / by_controller["memory"].lstrip("/")
            self.cpu = Path("/sys/fs/cgroup/cpuacct") / by_controller["cpuacct"].lstrip("/")
        else:
            base = Path("/sys/fs/cgroup") / by_controller[""].lstrip("/")
            self.mem = self.cpu = base
        assert cid in str(self.mem)

    @classmethod
    def of(cls, stack, service: str) -> "CgroupFiles | None":
        from stacktui.core.engine.client import Engine

        engine = Engine.from_env()
        found = [c for c in engine.project_containers(stack.name) if c.service == service and c.state == "running"]
        return cls(found[0].pid, found[0].id) if found else None

    def _stat(self) -> dict[str, int]:
        return {k: int(v) for k, v in (line.split() for line in (self.mem / "memory.stat").read_text().splitlines())}

    def cache(self) -> int:
        return self._stat()["total_cache" if self.v1 else "inactive_file"]

    def usage(self) -> int:
        return int((self.mem / ("memory.usage_in_bytes" if self.v1 else "memory.current")).read_text())

    def mem_without_cache(self) -> int:
        return self.usage() - self.cache()

    def limit(self) -> int:
        return int((self.mem / ("memory.limit_in_bytes" if self.v1 else "memory.max")).read_text())

    def cpu_ns(self) -> int:
        if self.v1:
            return int((self.cpu / "cpuacct.usage").read_text())
        stat = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) * 1000

    def rx_tx(self) -> tuple[int, int]:
        rx = tx = 0
        for line in Path(f"/proc/{self.pid}/net/dev").read_text().splitlines()[2:]:
            name, counters = line.split(":", 1)
            if name.strip() != "lo":
                rx += int(counters.split()[0])
                tx += int(counters.split()[8])
        return rx, tx


def check_against_files(row: dict, files: CgroupFiles, before: dict, after: dict) -> None:
    # Memory: what the files say minus the page cache, within what moved while we looked.
    low, high = sorted((before["mem"], after["mem"]))
    assert low - 256 * 1024 <= row["mem_bytes"] <= high + 256 * 1024, (row["mem_bytes"], low, high)
    assert row["mem_bytes"] < before["usage"] - 8 * MIB  # the 16 MB of page cache is not counted
    assert row["mem_limit_bytes"] == files.limit() == 64 * MIB
    # CPU: the figure is over part of the window measured here; the loop is capped at 20%.
    window = (after["cpu"] - before["cpu"]) / (after["at"] - before["at"]) * 100
    assert 2 < row["cpu_percent"] <= 30, row["cpu_percent"]
    assert abs(row["cpu_percent"] - window) < 10, (row["cpu_percent"], window)


def snapshot(files: CgroupFiles) -> dict:
    return {"mem": files.mem_without_cache(), "usage": files.usage(), "cpu": files.cpu_ns(),
            "at": time.monotonic_ns(), "net": files.rx_tx()}


def test_status_json_figures_match_the_cgroup_files(busy_stack):
    files = CgroupFiles.of(busy_stack, "owner")
    before = snapshot(files)
    done = busy_stack.stacktui("status", "--json")
    after = snapshot(files)
    rows = {r["service"]: r for r in json.loads(done.stdout)["services"]}
    owner, joiner, oneshot = rows["owner"], rows["joiner"], rows["oneshot"]
    check_against_files(owner, files, before, after)
    assert isinstance(owner["cpu_percent"], float) and isinstance(owner["mem_bytes"], int)
    assert before["net"][0] <= owner["net_rx_bytes"] <= after["net"][0]
    assert before["net"][1] <= owner["net_tx_bytes"] <= after["net"][1]
    assert owner["net_shared_with"] is None
    # The joiner's traffic is the owner's: said, not counted again.
    assert joiner["net_shared_with"] == "owner"
    assert joiner["net_rx_bytes"] is None and joiner["net_tx_bytes"] is None
    assert joiner["mem_bytes"] > 0 and joiner["cpu_percent"] is not None
    # A container that is not running has no figures.
    assert oneshot["state"].startswith("exited")
    assert (oneshot["cpu_percent"], oneshot["mem_bytes"], oneshot["mem_limit_bytes"]) == (None, None, None)


def test_one_shot_engine_stats_give_the_same_figures(busy_stack, engine):
    files = CgroupFiles.of(busy_stack, "owner")
    containers = engine.project_containers(busy_stack.name)
    sampler = ResourceSampler(engine, use_cgroups=False)
    before = snapshot(files)
    assert sampler.read(containers)["owner"].cpu_percent is None  # one reading: no CPU figure yet
    figures = sampler.read(containers, min_gap=1.0)
    after = snapshot(files)
    owner = figures["owner"]
    assert owner.source == "engine"
    check_against_files({"mem_bytes": owner.mem_bytes, "mem_limit_bytes": owner.mem_limit_bytes,
                         "cpu_percent": owner.cpu_percent}, files, before, after)
    assert figures["joiner"].net_shared_with == "owner" and figures["joiner"].rx_bytes is None
    assert "oneshot" not in figures


# -- fast: cgroup v2 and a v2 engine answer, which this machine's engine (v1) does not give ------------

def test_cgroup_v2_leaves_out_inactive_file_and_reads_max_as_the_machine(tmp_path):
    cid = "c0ffee" * 10
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "42" / "net").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(f"0::/system.slice/docker-{cid}.scope\n")
    (proc / "42" / "net" / "dev").write_text(
        "Inter-|\n face |\n    lo: 999 0 0 0 0 0 0 0 999 0 0 0 0 0 0 0\n  eth0: 1000 3 0 0 0 0 0 0 2000 4 0 0 0 0 0 0\n")
    (proc / "meminfo").write_text("MemTotal:       1000 kB\n")
    group = root / f"system.slice/docker-{cid}.scope"
    group.mkdir(parents=True)
    (group / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\n")
    (group / "memory.current").write_text("900000\n")
    (group / "memory.stat").write_text("anon 100000\nfile 800000\ninactive_file 300000\nactive_file 500000\n")
    (group / "memory.max").write_text("max\n")
    got = read_cgroup(cid, 42, root=root, proc=proc)
    assert got is not None
    assert (got.cpu_ns, got.mem_bytes, got.mem_limit_bytes, got.rx_bytes, got.tx_bytes) == \
        (1_500_000, 600000, 1_024_000, 1000, 2000)
    # Files that are not this container's (a reused PID) are not read as its figures.
    assert read_cgroup("other" * 12, 42, root=root, proc=proc) is None


def test_a_containers_files_are_found_once_and_forgotten_when_its_cgroup_goes(tmp_path):
    """The TUI reads every 2 s: where the files are (/proc/PID/cgroup) and the machine's memory
    are read once, the counters each time; a container whose cgroup went reads as None."""
    cid = "c0ffee" * 10
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "43" / "net").mkdir(parents=True)
    (proc / "43" / "cgroup").write_text(f"9:memory:/docker/{cid}\n8:cpu,cpuacct:/docker/{cid}\n")
    (proc / "43" / "net" / "dev").write_text("Inter-|\n face |\n  eth0: 10 3 0 0 0 0 0 0 20 4 0 0 0 0 0 0\n")
    (proc / "meminfo").write_text("MemTotal:       1000 kB\n")
    mem, cpu = root / "memory" / "docker" / cid, root / "cpu,cpuacct" / "docker" / cid
    mem.mkdir(parents=True)
    cpu.mkdir(parents=True)
    (cpu / "cpuacct.usage").write_text("5000\n")
    (mem / "memory.usage_in_bytes").write_text("700000\n")
    (mem / "memory.stat").write_text("cache 100000\nrss 600000\ntotal_cache 200000\n")
    (mem / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    first = read_cgroup(cid, 43, root=root, proc=proc)
    assert first is not None and (first.cpu_ns, first.mem_bytes, first.mem_limit_bytes, first.rx_bytes) == \
        (5000, 500000, 1_024_000, 10)
    (proc / "43" / "cgroup").unlink()  # found already: not read again
    (proc / "meminfo").write_text("MemTotal:       2000 kB\n")
    (cpu / "cpuacct.usage").write_text("9000\n")
    (mem / "memory.limit_in_bytes").write_text("512000\n")  # `docker update -m`: read every time
    again = read_cgroup(cid, 43, root=root, proc=proc)
    assert again is not None and (again.cpu_ns, again.mem_limit_bytes) == (9000, 512000)
    for path in mem.iterdir():  # the container stopped: its cgroup is gone
        path.unlink()
    mem.rmdir()
    assert read_cgroup(cid, 43, root=root, proc=proc) is None
    assert read_cgroup(cid, 43, root=root, proc=proc) is None  # looked for again: /proc/43/cgroup is gone


def test_engine_stats_of_cgroup_v2_leave_out_inactive_file_and_v1_the_cache():
    v2 = {"cpu_stats": {"cpu_usage": {"total_usage": 10}, "system_cpu_usage": 100, "online_cpus": 2},
          "memory_stats": {"usage": 5000, "limit": 8000, "stats": {"inactive_file": 1200, "active_file": 7}},
          "networks": {"eth0": {"rx_bytes": 5, "tx_bytes": 6}, "eth1": {"rx_bytes": 1, "tx_bytes": 1}}}
    got = reading_from_stats("c", v2)
    assert (got.mem_bytes, got.mem_limit_bytes, got.rx_bytes, got.tx_bytes) == (3800, 8000, 6, 7)
    v1 = {**v2, "memory_stats": {"usage": 5000, "limit": 8000, "stats": {"cache": 2000, "inactive_file": 1200}}}
    assert reading_from_stats("c", v1).mem_bytes == 3000
    later = reading_from_stats("c", {**v2, "cpu_stats": {"cpu_usage": {"total_usage": 30}, "system_cpu_usage": 200,
                                                       "online_cpus": 2}})
    assert cpu_percent(got, later) == 40.0  # 20 of 100 machine-ns on 2 CPUs, as `docker stats` computes
    assert reading_from_stats("c", {"cpu_stats": {}, "memory_stats": {}}) is None  # a stopped container
    restarted = Reading("c", 5, later.wall_ns + 1, 0, 0, None, None)
    assert cpu_percent(later, restarted) is None
