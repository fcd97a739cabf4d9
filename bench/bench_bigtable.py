"""The TUI on the 2,000-service, 5.8 MB file (bench/bigfile.py; bench/headless_bigtable.py, headless):
process start to the table showing all 2,000 rows, against Compose's own `config --format json` on
the same file (the TUI asks Compose for the model too), and key press to the frame that shows the
cursor moved (Down/Up, and PageDown/PageUp across the 2,000 rows), p95.

The services are not started: the table has one row per service either way, and creating 2,000
containers would take this shared 2-core machine many minutes; what is measured is the model
(Compose, stacktui's reading of the file) and the table.

Targets (issue 18): shown "in seconds" (within 2x of Compose's config: the TUI waits for Compose,
then draws); keys stay responsive: p95 under 50 ms as for the demo stack (issue 8).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bigfile import SERVICES, big_compose
from bench.harness import Row, percentile

ROOT = Path(__file__).resolve().parent.parent


def _child(folder: Path, presses: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.headless_bigtable", str(SERVICES), str(presses)], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"headless_bigtable failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[Row]:
    from stacktui.core.compose.cli import compose_command

    rounds, presses = (1, 20) if quick else (3, 40)
    with tempfile.TemporaryDirectory(prefix="stacktui-bigtable-") as tmp:
        folder = Path(tmp)
        (folder / "compose.yaml").write_text(big_compose(name="stkbigtable"))
        compose, startup, step, page, rss = [], [], [], [], []
        missed = 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            subprocess.run([*compose_command(), "config", "--format", "json"], cwd=folder, capture_output=True,
                           check=True, timeout=300)
            compose.append(time.perf_counter() - t0)
            got = _child(folder, presses)
            startup.append(got["startup"])
            step += [s * 1000 for s in got["step"]["samples"]]
            page += [s * 1000 for s in got["page"]["samples"]]
            rss.append(got["rss"] / 1e6)
            missed += got["step"]["missed"] + got["page"]["missed"]
    ours, theirs = statistics.median(startup), statistics.median(compose)
    note = f"{SERVICES} services not started; {rounds} rounds, load {os.getloadavg()[0]:.1f}; app RSS {statistics.median(rss):.0f} MB"
    return [
        Row("TUI start-up to 2,000 rows", ours, "s", "compose config --format json", theirs, "ratio <= 2",
            ours / theirs <= 2, note),
        Row("TUI key to frame, Down/Up in 2,000 rows: p95", percentile(step, 95), "ms", "-", None, "< 50 ms",
            percentile(step, 95) < 50 and missed == 0, f"{len(step)} presses, {missed} not shown within 5 s"),
        Row("TUI key to frame, PageDown/PageUp in 2,000 rows: p95", percentile(page, 95), "ms", "-", None, "< 50 ms",
            percentile(page, 95) < 50 and missed == 0, f"{len(page)} presses"),
    ]
