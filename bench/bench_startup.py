"""Start-up: process start to the first populated table, stacktui against lazydocker and a bare
Textual app, in tmux.

All three are started by tmux in the stack's folder in a 200x50 pane, 3 s after the stack is up;
"populated" is read off the screen: the first three services, each on a line that says
"running" (bench/tools.py). The bare app (bench/bare_table.py: one 4-row DataTable, no engine,
no Compose) is the floor of any Textual app on this machine. Runs alternate between the tools;
the figure is the median.

stacktui runs with a cache directory of the bench's own (XDG_CACHE_HOME): its first run in the
stack's folder asks Compose and caches the answer, the measured runs then start from the cache,
as a user's second start does. One more row times the first start after an edit of the compose
file (no cached config each run), not judged.

The 200-service rows (start-up, idle CPU, event to table) are in bench_scale.py.

Targets (issue 19): demo stack <= 1.1x lazydocker and <= 1.25x the bare Textual app.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from bench.harness import Row
from bench.stackutil import bench_stack
from bench.tmuxdrive import ScreenTimeout
from bench.tools import Tool, bare_table, lazydocker, rows_populated, stacktui

DEADLINE = 30.0
# A user opens stacktui on a stack that is running, not on one whose containers are still
# writing their first lines and running their first healthchecks (seen: runs right after
# `up --wait` took 0.6-0.65 s, runs a few seconds later 0.4-0.5 s). Every tool gets the same pause.
SETTLE = 3.0


def first_frame(tool: Tool, stack, services: list[str]) -> float:
    """Seconds from tmux starting the tool to the first screen with the table populated."""
    with tool.terminal(stack.dir, project=stack.name) as term:
        seen, _ = term.wait_for(rows_populated(services), DEADLINE, f"{tool.name}'s populated table")
        return seen - term.started_at


def measure(stack, services: list[str], repeat: int,
            tools: dict[str, Callable[[], Tool]]) -> tuple[dict[str, list[float]], str]:
    """`repeat` rounds, each tool once a round in the given order; the samples and the first problem."""
    samples: dict[str, list[float]] = {name: [] for name in tools}
    problem = ""
    for _ in range(repeat):
        for name, make in tools.items():
            try:
                samples[name].append(first_frame(make(), stack, services))
            except ScreenTimeout as exc:
                problem = problem or f"{name}: {str(exc).splitlines()[0]}"
                print(f"bench_startup: {name}: {exc}", file=sys.stderr)
    return samples, problem


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def cached_stacktui(cache: Path) -> Callable[[], Tool]:
    return lambda: stacktui(cache_home=cache)


def cold_stacktui(warm: Path) -> Tool:
    """stacktui without a cached config, as on its first start after an edit of the compose file.
    The Compose program found before is kept (`warm`'s compose-cli.json): that does not change."""
    cache = Path(tempfile.mkdtemp(prefix="stkbench-cold-"))
    found = warm / "stacktui" / "compose-cli.json"
    if found.exists():
        (cache / "stacktui").mkdir()
        shutil.copy2(found, cache / "stacktui" / found.name)
    tool = stacktui(cache_home=cache)
    tool.cleanup = lambda: shutil.rmtree(cache, ignore_errors=True)
    return tool


def run(quick: bool) -> list[Row]:
    repeat = 3 if quick else 5
    cache = Path(tempfile.mkdtemp(prefix="stkbench-cache-"))
    try:
        with bench_stack("demo") as demo:
            services = demo.services()
            time.sleep(SETTLE)
            first_frame(stacktui(cache_home=cache), demo, services)  # fills the cache, not counted
            samples, problem = measure(demo, services, repeat, {
                "stacktui": cached_stacktui(cache),
                "bare": lambda: bare_table(services),
                "lazydocker": lazydocker,
                "stacktui-cold": lambda: cold_stacktui(cache),
            })
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    ours, bare, lazy, cold = (samples[k] for k in ("stacktui", "bare", "lazydocker", "stacktui-cold"))
    v = med(ours)
    note = f"median of {len(ours)} (lazydocker {len(lazy)}, bare {len(bare)}) in tmux 200x50, alternating"
    note += "; Compose's config from stacktui's cache (filled by one run before)" + (f"; {problem}" if problem else "")

    def judged(ref: float | None, limit: float) -> bool | None:
        if v is None:
            return False
        return None if ref is None else v <= limit * ref

    rows = [
        Row("start-up to populated table, demo stack", v, "s", "lazydocker", med(lazy), "<= 1.1x",
            judged(med(lazy), 1.1), note),
        Row("start-up to populated table, demo stack, vs a bare Textual app", v, "s",
            "bare Textual DataTable app", med(bare), "<= 1.25x", judged(med(bare), 1.25),
            "bench/bare_table.py: one DataTable of 4 rows, started and read the same way (the floor of a "
            "Textual app here)"),
        Row("start-up to populated table, demo stack, first start after an edit", med(cold), "s", "lazydocker",
            med(lazy), "-", None,
            f"median of {len(cold)}, no cached config each run (the Compose program found before is kept): "
            "Compose's `config` is asked, as on the first start after an edit; not judged"),
    ]
    return rows
