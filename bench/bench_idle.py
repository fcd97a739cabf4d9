"""Idle CPU: stacktui and lazydocker side by side on the idle demo stack plus a 1 s healthcheck.

The stack is compose/demo (three services with 1 s healthchecks) plus `ticker`
(bench/stacks/idle), so the engine's events stream carries several exec events a second.
Both tools run at the same time, each in its own tmux pane, and are measured over the same
window once their tables are populated and a settling pause has passed: CPU seconds of the
process and all its descendants, including helpers that came and went (lazydocker's
`docker compose` calls), via psutil. Figure: percent of one core.

Target (issue 8): under 1% of one core and at most a fifth of lazydocker's.
"""
from __future__ import annotations

import time

from bench.harness import Row
from bench.stackutil import bench_stack
from bench.tmuxdrive import tree_cpu_seconds
from bench.tools import lazydocker, rows_populated, stacktui

SETTLE = 3.0


def run(quick: bool) -> list[Row]:
    window = 10.0 if quick else 30.0
    with bench_stack("idle", up_timeout=120) as stack:
        services = stack.services()
        ours_t = stacktui().terminal(stack.dir)
        theirs_t = lazydocker().terminal(stack.dir)
        with ours_t, theirs_t:
            ready = rows_populated(services, need=len(services))
            ours_t.wait_for(ready, 30, "stacktui's populated table")
            theirs_t.wait_for(ready, 30, "lazydocker's populated table")
            time.sleep(SETTLE)
            ours_p, theirs_p = ours_t.process(), theirs_t.process()
            c0 = (tree_cpu_seconds(ours_p), tree_cpu_seconds(theirs_p))
            t0 = time.perf_counter()
            time.sleep(window)
            c1 = (tree_cpu_seconds(ours_p), tree_cpu_seconds(theirs_p))
            elapsed = time.perf_counter() - t0
            alive = not ours_t.dead(), not theirs_t.dead()
    ours = (c1[0] - c0[0]) / elapsed * 100
    theirs = (c1[1] - c0[1]) / elapsed * 100
    note = (f"{elapsed:.0f} s window after populated table + {SETTLE:.0f} s, both running at once; "
            f"{len(services)} services, 4 with 1 s healthchecks")
    if not all(alive):
        note += "; a tool exited during the window: " + ", ".join(n for n, a in zip(("stacktui", "lazydocker"), alive) if not a)
    met = ours < 1.0 and ours <= theirs / 5 and all(alive)
    return [Row("idle CPU, demo stack + 1 s healthcheck", ours, "% of a core", "lazydocker", theirs,
                "< 1% and <= 0.2x", met, note)]
