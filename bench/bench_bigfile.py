"""A 2,000-service, 5.8 MB compose file (bench/bigfile.py): `check --static`, `layout separate
--dry-run` and the same change written (`--yes --no-up`: the file and its history; the file's
busybox image cannot be pulled here, so nothing is brought up) followed by its undo, each against
Compose's own `config --format json` on the same file; rounds alternate between the commands,
wall time of each process and the peak resident memory of its process tree, medians.

Targets (issue 18): check within 1.5x of Compose's config; the others "in seconds": the dry run
reads the file as check does, so within 1.5x too; a written change asks Compose twice (the file,
then the changed text before writing it), so within 2.5x.
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


_PEAK = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)")


def _wall(cmd: list[str], cwd: Path, peaks: list[float] | None = None) -> float:
    """Wall time of cmd; its process tree's peak resident memory (the kernel's figure, MB) into peaks."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=LIMIT)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {done.returncode}: {done.stderr.strip()[:300]}")
    if peaks is not None:
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
    return took


def run(quick: bool) -> list[Row]:
    from stacktui.core.compose.cli import compose_command

    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="stacktui-bigfile-") as tmp:
        folder = Path(tmp)
        text = big_compose()
        (folder / "compose.yaml").write_text(text)
        stacktui = [sys.executable, "-m", "stacktui"]
        check, compose, separate, write, undo = [], [], [], [], []
        peaks: dict[str, list[float]] = {"compose": [], "check": [], "dry": [], "write": [], "undo": []}
        for _ in range(rounds):
            compose.append(_wall([*compose_command(), "config", "--format", "json"], folder, peaks["compose"]))
            check.append(_wall([*stacktui, "check", "--static"], folder, peaks["check"]))
            separate.append(_wall([*stacktui, "layout", "separate", "svc0001", "--dry-run"], folder, peaks["dry"]))
            write.append(_wall([*stacktui, "layout", "separate", "svc0001", "--yes", "--no-up"], folder,
                               peaks["write"]))
            undo.append(_wall([*stacktui, "layout", "undo", "--yes", "--no-up"], folder, peaks["undo"]))
            if (folder / "compose.yaml").read_text() != text:
                raise RuntimeError("the undo did not give the file back as it was")
    theirs = statistics.median(compose)
    size = (f"{SERVICES} services, {len(text) / 1e6:.1f} MB; {rounds} rounds, load {os.getloadavg()[0]:.1f}; "
            f"Compose's own peak {statistics.median(peaks['compose']):.0f} MB")

    def row(name: str, samples: list[float], peak: str, limit: float) -> Row:
        ours = statistics.median(samples)
        return Row(f"{name}, 2,000-service file", ours, "s", "compose config --format json", theirs,
                   f"ratio <= {limit:g}", ours / theirs <= limit,
                   f"{size}; peak of the process tree {statistics.median(peaks[peak]):.0f} MB")

    return [row("check --static", check, "check", 1.5), row("layout separate --dry-run", separate, "dry", 1.5),
            row("layout separate --yes --no-up (written)", write, "write", 2.5),
            row("layout undo --yes --no-up", undo, "undo", 2.5)]
