"""Resource figures' CPU cost: stacktui's TUI with its figures on against lazydocker's streaming stats.

stacktui side: the TUI in tmux with the defaults (figures every 2 s, read from the cgroup files
on this local engine); as a second figure, the sampler alone in a process of its own reading the
engine's one-shot stats every 2 s, as a remote engine would be read. lazydocker side: lazydocker
itself in tmux, which keeps one streaming stats connection per container. Each is measured over the same kind
of window on the demo stack and on 50 containers: CPU of the tool's process tree, and the
engine's (dockerd + containerd, not the containers) CPU above an idle window taken just before.

The engine here is shared with other work, so the engine's added CPU is noisy; it is the
median of the windows' differences from the idle windows around them.

On this local engine stacktui's refresh makes no engine call at all (it reads files, for the
containers its watcher already knows), so what the engine column shows for it is the TUI's
other engine traffic (events, logs) and the noise of the shared engine.

Targets (issue 16): stacktui < 1% of a core for the demo stack; the engine overhead of
stacktui's figures <= 0.3x lazydocker's.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.harness import Row
from bench.stackutil import ROOT, bench_stack
from bench.tmuxdrive import ScreenTimeout, tree_cpu_seconds
from bench.tools import lazydocker, rows_populated, stacktui

SETTLE = 3.0
SAMPLER = """
import sys, time
from stacktui.core.engine.client import Engine
from stacktui.core.resources.sampler import ResourceSampler
engine = Engine.from_env()
sampler = ResourceSampler(engine, use_cgroups=sys.argv[2] == "cgroup")
containers = engine.project_containers(sys.argv[1])
while True:
    sampler.read(containers)
    time.sleep(2.0)
"""


def engine_processes() -> list[psutil.Process]:
    """This engine's dockerd and its containerd: what answers stats calls and streams."""
    sock = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] == "dockerd" and (sock in cmd or sock.endswith("/var/run/docker.sock")):
            return [p] + [c for c in p.children() if c.name() == "containerd"]
    raise RuntimeError(f"no dockerd serving {sock}")


def own_cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def window(engine: list[psutil.Process], tool: psutil.Process | None, seconds: float) -> tuple[float, float]:
    """(engine %, tool tree %) of one core over a window."""
    e0, t0 = own_cpu(engine), tree_cpu_seconds(tool) if tool else 0.0
    start = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    e1, t1 = own_cpu(engine), tree_cpu_seconds(tool) if tool else 0.0
    return (e1 - e0) / elapsed * 100, (t1 - t0) / elapsed * 100


def measure_sampler(stack_name: str, mode: str, engine: list[psutil.Process], seconds: float) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SAMPLER, stack_name, mode], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(SETTLE)
        if proc.poll() is not None:
            raise RuntimeError(f"the sampler exited: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
        return window(engine, psutil.Process(proc.pid), seconds)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def measure_tui(stack, services: list[str], engine: list[psutil.Process], seconds: float) -> tuple[float, float]:
    with stacktui().terminal(stack.dir, project=stack.name) as term:
        term.wait_for(rows_populated(services, need=min(3, len(services))), 60, "stacktui's populated table")
        term.wait_for(lambda screen: "%" in screen, 30, "stacktui's CPU column")
        time.sleep(SETTLE)
        return window(engine, term.process(), seconds)


def measure_lazydocker(stack, services: list[str], engine: list[psutil.Process], seconds: float) -> tuple[float, float]:
    with lazydocker().terminal(stack.dir, project=stack.name) as term:
        # Its services panel is a few rows high: three running rows, whichever services they are.
        term.wait_for(lambda screen: sum("running" in line for line in screen.splitlines()) >= min(3, len(services)),
                      60, "lazydocker's populated list")
        time.sleep(SETTLE)
        return window(engine, term.process(), seconds)


def run(quick: bool) -> list[Row]:
    seconds = 8.0 if quick else 20.0
    engine = engine_processes()
    rows: list[Row] = []
    for label, kind, count in (("demo stack", "demo", 0), ("50 containers", "many", 50)):
        with bench_stack(kind, count=count or 200, up_timeout=180) as stack:
            services = sorted(stack.services())  # the table's order for the generated svc001...
            idle = [window(engine, None, seconds)[0]]
            ours = measure_tui(stack, services, engine, seconds)
            idle.append(window(engine, None, seconds)[0])
            oneshot = measure_sampler(stack.name, "engine", engine, seconds)
            idle.append(window(engine, None, seconds)[0])
            problem = ""
            try:
                lazy = measure_lazydocker(stack, services, engine, seconds)
            except ScreenTimeout as exc:
                lazy, problem = None, f"; lazydocker: {str(exc).splitlines()[0].split('; last screen')[0]}"
            idle.append(window(engine, None, seconds)[0])
        base = sorted(idle)[len(idle) // 2]
        engine_ours, tool_ours = ours
        note = (f"{seconds:.0f} s windows; engine idle {base:.2f}% (median of {len(idle)} idle windows: "
                f"{', '.join(f'{v:.2f}' for v in idle)}); engine-only stats (one-shot per container): "
                f"tool {oneshot[1]:.2f}%, engine {oneshot[0] - base:+.2f}%{problem}")
        added_ours = engine_ours - base
        added_lazy = lazy[0] - base if lazy else None
        rows.append(Row(f"resource figures on, {label}: stacktui's process tree", tool_ours, "% of a core",
                        "lazydocker", lazy[1] if lazy else None, "< 1%" if kind == "demo" else "-",
                        tool_ours < 1.0 if kind == "demo" else None, note))
        met = None if added_lazy is None or added_lazy <= 0 else max(added_ours, 0.0) <= 0.3 * added_lazy
        rows.append(Row(f"resource figures, {label}: engine's added CPU", added_ours, "% of a core",
                        "lazydocker", added_lazy, "<= 0.3x", met,
                        "engine CPU above its idle median while the tool runs"))
    return rows
