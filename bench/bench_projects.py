"""`stacktui projects --json` with per-user pairs at scale (issue 15).

50 projects, each a vscode + mcp-server pair sharing network and IPC namespaces, plus one
shared backend project: 101 containers. Reference: `docker compose ls --all --format json`,
which lists the same projects with less (no services, no health, no stale verdict). Also the
in-process listing alone (what the projects screen calls), and, after a raw `docker restart`
of one pair's owner, that the listing names exactly that pair stale.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.harness import Row, median_time
from bench.stackutil import IMAGE, ROOT, compose_cmd

PAIR = """services:
  vscode:
    image: ${{STACKTUI_DEMO_IMAGE:-{image}}}
    network_mode: none
    ipc: shareable
    init: true
    command: ["sh", "-c", "while :; do sleep 3600; done"]
  mcp-server:
    image: ${{STACKTUI_DEMO_IMAGE:-{image}}}
    network_mode: "service:vscode"
    ipc: "service:vscode"
    init: true
    command: ["sh", "-c", "while :; do sleep 3600; done"]
"""
BACKEND = """services:
  backend:
    image: ${{STACKTUI_DEMO_IMAGE:-{image}}}
    network_mode: none
    init: true
    command: ["sh", "-c", "while :; do sleep 3600; done"]
"""
TARGET_S = 1.0


def _compose(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*compose_cmd(), *args], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "STACKTUI_DEMO_IMAGE": IMAGE})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacktui", *args], capture_output=True, text=True, timeout=120,
                          cwd=tempfile.gettempdir(), env={**os.environ, "PYTHONPATH": str(ROOT)})


def run(quick: bool) -> list[Row]:
    pairs = 10 if quick else 50
    tag = uuid.uuid4().hex[:5]
    tmp = Path(tempfile.mkdtemp(prefix="stkbench-projects-"))
    folders: list[Path] = []
    for i in range(pairs + 1):
        folder = tmp / (f"stkbp{tag}u{i:02d}" if i < pairs else f"stkbp{tag}backend")
        folder.mkdir()
        (folder / "compose.yaml").write_text((PAIR if i < pairs else BACKEND).format(image=IMAGE))
        folders.append(folder)
    try:
        with ThreadPoolExecutor(4) as pool:
            for done in pool.map(lambda f: _compose(f, "up", "-d"), folders):
                if done.returncode != 0:
                    raise RuntimeError(f"compose up failed: {done.stderr.strip()[-400:]}")
        from stacktui.core.engine.client import Engine
        from stacktui.core.ops.projects import list_projects

        engine = Engine.from_env()
        mine = {f.name for f in folders}
        listed = {p.project: p for p in list_projects(engine, "bench") if p.project in mine}
        if len(listed) != len(folders) or any(p.running != len(p.services) or p.stale for p in listed.values()):
            raise RuntimeError(f"the listing is wrong before any restart: {list(listed.values())[:2]}")
        repeat = 3 if quick else 5
        cli = median_time(lambda: _cli("projects", "--json"), repeat)
        ls = median_time(lambda: subprocess.run([*compose_cmd(), "ls", "--all", "--format", "json"],
                                                capture_output=True, timeout=120, check=True), repeat)
        inproc = median_time(lambda: list_projects(engine, "bench"), repeat)
        victim = folders[0]
        owner = _compose(victim, "ps", "-q", "vscode").stdout.split()[0]
        subprocess.run(["docker", "restart", "-t", "1", owner], capture_output=True, timeout=60, check=True)
        stale = sorted(p.project for p in list_projects(engine, "bench") if p.project in mine and p.stale)
        engine.close()
    finally:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda f: _compose(f, "down", "-t", "1"), folders))
        shutil.rmtree(tmp, ignore_errors=True)
    containers = 2 * pairs + 1
    right = stale == [victim.name]
    return [
        Row(name=f"`stacktui projects --json`, {pairs} pairs + backend ({containers} containers)", value=cli,
            unit="s", reference_name="`docker compose ls --all --format json`", reference=ls,
            target=f"< {TARGET_S:g} s", met=cli < TARGET_S and right,
            note=f"whole process (Python start-up included); medians of {repeat}; after a raw restart of one "
                 f"owner the listing named {'only that pair' if right else stale} stale"),
        Row(name=f"projects listing in-process, {containers} containers (what the projects screen calls)",
            value=inproc, unit="s", reference_name="`docker compose ls --all --format json`", reference=ls,
            target=f"< {TARGET_S:g} s", met=inproc < TARGET_S, note=f"one list + {containers} inspects; medians of {repeat}"),
    ]
