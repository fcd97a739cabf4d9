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

import sys
import time

from bench.harness import Row
from bench.stackutil import bench_stack
from bench.tmuxdrive import ScreenTimeout, tree_cpu_seconds
from bench.tools import lazydocker, rows_populated, stacktui

SETTLE = 3.0
DEADLINE = 60.0


def run(quick: bool) -> list[Row]:
    window = 10.0 if quick else 30.0
    problems: list[str] = []
    with bench_stack("idle", up_timeout=120) as stack:
        services = stack.services()
        terms = {"stacktui": stacktui().terminal(stack.dir, project=stack.name),
                 "lazydocker": lazydocker().terminal(stack.dir, project=stack.name)}
        with terms["stacktui"], terms["lazydocker"]:
            ready = rows_populated(services, need=len(services))
            procs = {}
            for name, term in terms.items():
                try:
                    term.wait_for(ready, DEADLINE, f"{name}'s populated table")
                    procs[name] = term.process()
                except ScreenTimeout as exc:
                    problems.append(f"{name}: {str(exc).splitlines()[0]}")
                    print(f"bench_idle: {exc}", file=sys.stderr)
            time.sleep(SETTLE)
            c0 = {name: tree_cpu_seconds(p) for name, p in procs.items()}
            t0 = time.perf_counter()
            time.sleep(window)
            c1 = {name: tree_cpu_seconds(p) for name, p in procs.items()}
            elapsed = time.perf_counter() - t0
            for name, term in terms.items():
                if name in procs and term.dead():
                    problems.append(f"{name} exited during the window")
                    procs.pop(name)
    pct = {name: (c1[name] - c0[name]) / elapsed * 100 for name in procs}
    ours, theirs = pct.get("stacktui"), pct.get("lazydocker")
    note = (f"{elapsed:.0f} s window after populated table + {SETTLE:.0f} s, both running at once; "
            f"{len(services)} services, 4 with 1 s healthchecks") + "".join(f"; {p}" for p in problems)
    if ours is None:
        met: bool | None = False
    elif theirs is None:
        met = None
    else:
        met = ours < 1.0 and ours <= theirs / 5
    return [Row("idle CPU, demo stack + 1 s healthcheck", ours, "% of a core", "lazydocker", theirs,
                "< 1% and <= 0.2x", met, note)]
