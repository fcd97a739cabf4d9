"""A 2,000-service, 5.8 MB compose file (bench/bigfile.py): `check --static` against Compose's own
`config --format json` on the same file, and `layout separate --dry-run` on it; rounds alternate
between the commands, wall time of each process, medians.

Target (issue 18): check within 1.5x of Compose's config.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bigfile import SERVICES, big_compose
from bench.harness import Row

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 600.0


def _wall(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=LIMIT)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {done.returncode}: {done.stderr.strip()[:300]}")
    return took


def run(quick: bool) -> list[Row]:
    from stacktui.core.compose.cli import compose_command

    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="stacktui-bigfile-") as tmp:
        folder = Path(tmp)
        text = big_compose()
        (folder / "compose.yaml").write_text(text)
        stacktui = [sys.executable, "-m", "stacktui"]
        check, compose, separate = [], [], []
        for _ in range(rounds):
            compose.append(_wall([*compose_command(), "config", "--format", "json"], folder))
            check.append(_wall([*stacktui, "check", "--static"], folder))
            separate.append(_wall([*stacktui, "layout", "separate", "svc0001", "--dry-run"], folder))
    ours, theirs = statistics.median(check), statistics.median(compose)
    size = f"{SERVICES} services, {len(text) / 1e6:.1f} MB; {rounds} rounds, load {os.getloadavg()[0]:.1f}"
    return [
        Row("check --static, 2,000-service file", ours, "s", "compose config --format json", theirs,
            "ratio <= 1.5", ours / theirs <= 1.5, size),
        Row("layout separate --dry-run, 2,000-service file", statistics.median(separate), "s", "-", None, "-", None,
            size),
    ]
