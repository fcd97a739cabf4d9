"""`stacktui kube export -o -` of the demo and of the 2,000-service file (bench/bigfile.py), against
Compose's own `config --format json` of the same file: the export asks Compose for that config and then
builds and writes the objects, so the ratio is what the export adds. Each stacktui run gets an empty
cache folder (XDG_CACHE_HOME), so Compose is asked every time; rounds alternate, medians.

Target (issue 27): within 1.5x of Compose's config.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.bench_bigfile import _wall
from bench.bigfile import SERVICES, big_compose
from bench.harness import Row

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1.5


def _pair(folder: Path, rounds: int) -> tuple[list[float], list[float]]:
    from stacktui.core.compose.cli import compose_command

    ours: list[float] = []
    theirs: list[float] = []
    saved = os.environ.get("XDG_CACHE_HOME")
    try:
        for _ in range(rounds):
            theirs.append(_wall([*compose_command(), "config", "--format", "json"], folder))
            with tempfile.TemporaryDirectory(prefix="stacktui-kube-cache-") as cache:
                os.environ["XDG_CACHE_HOME"] = cache  # no cached config: Compose is asked, as on a first run
                ours.append(_wall([sys.executable, "-m", "stacktui", "kube", "export", "-o", "-"], folder))
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved
    return ours, theirs


def run(quick: bool) -> list[Row]:
    rounds = 1 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="stacktui-kube-") as tmp:
        demo = Path(tmp) / "demo"
        shutil.copytree(ROOT / "compose" / "demo", demo)
        big = Path(tmp) / "big"
        big.mkdir()
        text = big_compose()
        (big / "compose.yaml").write_text(text)
        for name, folder, what in (("demo", demo, "3 services"),
                                   ("2,000-service file", big, f"{SERVICES} services, {len(text) / 1e6:.1f} MB")):
            ours, theirs = _pair(folder, rounds)
            mine, ref = statistics.median(ours), statistics.median(theirs)
            rows.append(Row(f"kube export -o -, {name}", mine, "s", "compose config --format json", ref,
                            f"ratio <= {LIMIT:g}", mine / ref <= LIMIT,
                            f"{what}; {rounds} rounds, no cached config, load {os.getloadavg()[0]:.1f}"))
    return rows
