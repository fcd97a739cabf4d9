"""Start-up: process start to the first populated table, stacktui against lazydocker, in tmux.

Both are started by tmux in the stack's folder in a 200x50 pane, 3 s after the stack is up;
"populated" is read off the screen: the first three services, each on a line that says
"running" (bench/tools.py). Runs alternate between the two tools; the figure is the median.

Targets (issue 8): demo stack under 0.6 s and within 2x lazydocker; 200 containers under 2.0 s.
"""
from __future__ import annotations

import statistics
import sys
import time

from bench.harness import Row
from bench.stackutil import bench_stack
from bench.tmuxdrive import ScreenTimeout
from bench.tools import Tool, lazydocker, rows_populated, stacktui

DEADLINE = 30.0
# A user opens stacktui on a stack that is running, not on one whose containers are still
# writing their first lines and running their first healthchecks (seen: runs right after
# `up --wait` took 0.6-0.65 s, runs a few seconds later 0.4-0.5 s). Both tools get the same pause.
SETTLE = 3.0


def _once(tool: Tool, stack, services: list[str]) -> float:
    with tool.terminal(stack.dir, project=stack.name) as term:
        seen, _ = term.wait_for(rows_populated(services), DEADLINE, f"{tool.name}'s populated table")
        return seen - term.started_at


def _measure(stack, services: list[str], repeat: int) -> tuple[list[float], list[float], str]:
    ours, theirs, problem = [], [], ""
    for _ in range(repeat):
        for tool, out in ((stacktui(), ours), (lazydocker(), theirs)):
            try:
                out.append(_once(tool, stack, services))
            except ScreenTimeout as exc:
                problem = problem or f"{tool.name}: {str(exc).splitlines()[0]}"
                print(f"bench_startup: {tool.name}: {exc}", file=sys.stderr)
    return ours, theirs, problem


def _med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run(quick: bool) -> list[Row]:
    repeat = 3 if quick else 5
    count = 50 if quick else 200
    rows: list[Row] = []
    with bench_stack("demo") as demo:
        services = demo.services()
        time.sleep(SETTLE)
        ours, theirs, problem = _measure(demo, services, repeat)
    v, ref = _med(ours), _med(theirs)
    met = None if v is None or ref is None else (v < 0.6 and v <= 2 * ref)
    rows.append(Row("start-up to populated table, demo stack", v, "s", "lazydocker", ref,
                    "< 0.6 s and <= 2x", met if v is not None else False,
                    f"median of {len(ours)} (lazydocker {len(theirs)}) in tmux 200x50" + (f"; {problem}" if problem else "")))
    with bench_stack("many", count=count, up_timeout=400) as many:
        services = [f"svc{i:03d}" for i in range(1, count + 1)]
        time.sleep(SETTLE)
        ours, theirs, problem = _measure(many, services, max(2, repeat - 2))
    v, ref = _med(ours), _med(theirs)
    rows.append(Row(f"start-up to populated table, {count} containers", v, "s", "lazydocker", ref,
                    "< 2.0 s" + ("" if count == 200 else " (for 200)"), (v < 2.0) if v is not None else False,
                    f"median of {len(ours)} (lazydocker {len(theirs)})" + (f"; {problem}" if problem else "")
                    + ("" if count == 200 else "; --quick uses 50 containers, the target is for 200")))
    return rows
