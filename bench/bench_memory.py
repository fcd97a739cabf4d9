"""Idle memory and a leak check: the TUI's resident memory over minutes, two apps at once.

- idle: the TUI in tmux on the demo stack (compose/demo), left alone; RSS of its process
  tree at the end of the run (over 6 minutes after its table was populated; --quick 1.5 min).
  Target: under 60 MB.
- busy: a second TUI, at the same time, on bench/stacks/chatty (one service writing ~1,000
  lines a second, its logs in the pane). Its ring buffers (the store keeps the last 20,000
  lines a service, the pane 20,000) are full after about 20 s and the allocator settles within
  about 70 s; from then on memory should stay flat. Figure: RSS at the end minus RSS once the buffers were full, over WINDOW seconds
  (5 minutes; --quick 30 s). Target: under 10 MB.
"""
from __future__ import annotations

import os
import sys
import time

from bench.harness import Row
from bench.stackutil import bench_stack
from bench.tmuxdrive import ScreenTimeout, tree_rss_bytes
from bench.tools import rows_populated, stacktui
from stacktui.core.live.store import DEFAULT_MAX_LINES

RATE = 1000
DEADLINE = 60.0
MB = 1e6


def _last_number(container: str) -> int:
    import subprocess

    out = subprocess.run(["docker", "logs", "--tail", "1", container], capture_output=True, text=True,
                         timeout=30).stdout.split()
    return int(out[1]) if len(out) > 1 and out[1].isdigit() else 0


def run(quick: bool) -> list[Row]:
    window = 30.0 if quick else 300.0
    # The store is full after MAX_LINES / RATE seconds (20 s), the pane's view a little later; the
    # allocator's arenas took until ~70 s to stop growing (headless, measured every 10 s: 57.9 MB at
    # 30 s, 62.8 MB at 70 s, 63.0 MB from 90 s to 120 s). The window starts after three times that.
    fill = 3 * DEFAULT_MAX_LINES / RATE + 10.0
    problems: list[str] = []
    with bench_stack("demo") as demo, bench_stack("chatty", env={"CHATTY_RATE": str(RATE)}) as chatty:
        chatty_id = chatty.container_id("chatty")
        terms = {"idle": stacktui().terminal(demo.dir, project=demo.name),
                 "busy": stacktui().terminal(chatty.dir, project=chatty.name)}
        with terms["idle"], terms["busy"]:
            procs = {}
            for name, (term, services) in {"idle": (terms["idle"], demo.services()),
                                           "busy": (terms["busy"], ["chatty"])}.items():
                try:
                    term.wait_for(rows_populated(services, need=len(services)), DEADLINE, f"{name} table")
                    procs[name] = term.process()
                except ScreenTimeout as exc:
                    problems.append(f"{name}: {str(exc).splitlines()[0]}")
                    print(f"bench_memory: {exc}", file=sys.stderr)
            started = time.perf_counter()
            time.sleep(fill)
            full = {name: tree_rss_bytes(p) for name, p in procs.items()}
            n0 = _last_number(chatty_id)
            t0 = time.perf_counter()
            time.sleep(window)
            end = {name: tree_rss_bytes(p) for name, p in procs.items()}
            elapsed = time.perf_counter() - t0
            rate = (_last_number(chatty_id) - n0) / elapsed
            idle_for = time.perf_counter() - started
            busy_screen = terms["busy"].screen() if "busy" in procs else ""
            for name, term in terms.items():
                if name in procs and term.dead():
                    problems.append(f"{name} exited during the run")
                    procs.pop(name)
    rows = []
    idle = end.get("idle")
    rows.append(Row("idle memory: TUI on the demo stack, RSS after the idle window", None if idle is None else idle / MB,
                    "MB", "-", None, "< 60 MB", None if idle is None else idle / MB < 60,
                    f"process tree, {idle_for:.0f} s after the table was populated (RSS "
                    f"{full.get('idle', 0) / MB:.1f} MB {fill:.0f} s in); run beside the busy one"
                    + "".join(f"; {p}" for p in problems)))
    growth = None if "busy" not in procs else (end["busy"] - full["busy"]) / MB
    shown = "chatty " in busy_screen
    rows.append(Row(f"memory leak check: TUI with a {RATE:,} lines/s service, growth once its buffers are full",
                    growth, "MB", "-", None, "< 10 MB", None if growth is None else growth < 10 and shown,
                    f"RSS {full.get('busy', 0) / MB:.1f} MB after {fill:.0f} s (store and pane full: "
                    f"{DEFAULT_MAX_LINES:,} lines each), {end.get('busy', 0) / MB:.1f} MB {elapsed:.0f} s later; "
                    f"the service wrote {rate:,.0f} lines/s meanwhile; its lines "
                    f"{'were' if shown else 'were NOT'} in the pane at the end; load {os.getloadavg()[0]:.1f}"))
    return rows
