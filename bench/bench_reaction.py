"""Reaction: a container dies or starts, and the table shows it.

Headless app (bench/headless.py `reaction`) on bench/stacks/reaction with the real engine: the
bench kills and starts `target` through the SDK; a sample is the engine's own time of the
die/start event (timeNano) to the first frame displayed with the row saying "exited" /
"running". Reference: how late the same events reach a plain SDK events stream in the same
process (the floor any client pays).

Target (issue 8): p95 under 100 ms.
"""
from __future__ import annotations

from bench.harness import Row, percentile
from bench.headless import app_error_note, run_child
from bench.stackutil import bench_stack

DEADLINE = 3.0


def run(quick: bool) -> list[Row]:
    cycles = 5 if quick else 15
    with bench_stack("reaction") as stack:
        res = run_child("reaction", stack.dir, "--service", "target", "--cycles", str(cycles),
                        "--deadline", str(DEADLINE), timeout=60 + cycles * 2 * (DEADLINE + 5))
    all_samples = res["samples"]["die"] + res["samples"]["start"]
    seen = [s * 1000 for s in all_samples if s is not None]
    missed = len(all_samples) - len(seen)
    floor = [s * 1000 for s in res.get("delivery", [])]
    ref = percentile(floor, 95) if floor else None
    note = f"{len(all_samples)} events (die and start), {missed} not shown within {DEADLINE:.0f} s" + app_error_note(res)
    if missed == len(all_samples):
        return [Row("reaction: die/start -> table shows it, p95", None, "ms", "SDK events stream", ref,
                    "< 100 ms", False, "the table never changed: " + note)]
    # A miss counts as the deadline, so a table that skips events cannot look fast.
    values = seen + [DEADLINE * 1000] * missed
    p95 = percentile(values, 95)
    return [Row("reaction: die/start -> table shows it, p95", p95, "ms", "SDK events stream", ref,
                "< 100 ms", p95 < 100 and missed == 0, note + f"; p50 {percentile(values, 50):.0f} ms")]
