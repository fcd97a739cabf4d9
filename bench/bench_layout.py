"""Layout switch downtime: how long mcp-server stops answering while its layout is switched and back.

While `stacktui layout separate mcp-server --yes` and then `stacktui layout shared mcp-server
--with vscode --yes` run (as processes, in the stack's folder), mcp-server's /health is polled
through its published host port every 10 ms; the figure is the longest window between two
answered polls. Reference: the reference document's manual rollback done the fast way, on
the same stack: the edited file written (the texts stacktui writes, made beforehand with
`--no-up` in a scratch copy), then `docker compose up -d`, each way, polled the same way.
Rounds alternate which goes first; medians of each round's longest window.

The note breaks the last stacktui window down with the engine's own event times (kill, die,
stop, destroy, create, start of each container) relative to the last answer before it, and
gives the engine's floor for any switch that moves a published port from one container to
another: two bare containers on the stack's network publishing the same host port, the holder
stopped (its SIGTERM handled at once, as the demo's) and the other started right after, through
the engine's API with no Compose in the loop, to the first answer on the port (_floor).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.availability import Poller, host_get_ok, longest_gap
from bench.harness import Row
from bench.stackutil import ROOT, BenchStack, bench_stack, compose_cmd

PERIOD = 0.01
DEADLINE = 180.0
SEPARATE = ["layout", "separate", "mcp-server", "--yes"]
SHARED = ["layout", "shared", "mcp-server", "--with", "vscode", "--yes"]
EVENTS = ("kill", "die", "stop", "destroy", "create", "start")


def _stacktui(folder: Path, args: list[str], timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "stacktui", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"stacktui {' '.join(args)} exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-800:]}")
    return done


def _texts() -> tuple[str, str]:
    """The compose.yaml stacktui writes for `separate` and then for `shared` (made without a running stack)."""
    tmp = Path(tempfile.mkdtemp(prefix="stkbench-layout-texts-"))
    try:
        folder = tmp / "demo"
        shutil.copytree(ROOT / "compose" / "demo", folder)
        _stacktui(folder, [*SEPARATE, "--no-up"])
        separate = (folder / "compose.yaml").read_text()
        _stacktui(folder, [*SHARED, "--no-up"])
        return separate, (folder / "compose.yaml").read_text()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _window(stack: BenchStack, port: int, switch) -> dict:
    """Run switch() while polling; the longest window without an answer and when it was (wall time)."""
    poller = Poller([lambda: host_get_ok(port)], PERIOD)
    wall = time.time() - time.perf_counter()
    poller.start()
    try:
        time.sleep(0.1)  # a few answered polls first: the window is measured from the last answer
        switch()
        deadline = time.perf_counter() + 60
        while not poller.up_for(time.perf_counter() - 0.3, 0.25):
            if time.perf_counter() > deadline:
                raise RuntimeError("mcp-server's port did not answer again within 60 s of the switch")
            time.sleep(0.05)
    finally:
        polls = poller.stop()
    gap, last_up, first_up = longest_gap(polls)
    return {"gap": gap, "from": last_up + wall, "to": first_up + wall}


def _compose_up(stack: BenchStack, text: str) -> None:
    (stack.dir / "compose.yaml").write_text(text)
    stack.compose("up", "-d", timeout=DEADLINE)


def _settle(stack: BenchStack, port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = stack.compose("ps", "--format", "{{.Service}} {{.Health}}", timeout=30).stdout.split("\n")
        health = dict(ln.split(" ", 1) for ln in out if " " in ln)
        if len(health) == 3 and all(h == "healthy" for h in health.values()) and host_get_ok(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{stack.name} did not settle within {timeout:.0f} s")


def _events(project: str, since: float, until: float) -> list[tuple[float, str, str]]:
    """(time, container, action) of the project's container events in [since, until]."""
    done = subprocess.run(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                           "--filter", "type=container", "--filter", f"label=com.docker.compose.project={project}",
                           "--format", "{{.TimeNano}} {{.Action}} {{index .Actor.Attributes \"com.docker.compose.service\"}}"],
                          capture_output=True, text=True, timeout=30)
    out = []
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in EVENTS:
            out.append((int(parts[0]) / 1e9, parts[2], parts[1]))
    return out


def _breakdown(project: str, window: dict) -> str:
    events = _events(project, window["from"] - 0.5, window["to"] + 0.2)
    inside = [(t - window["from"], svc, act) for t, svc, act in events if window["from"] - 0.5 <= t <= window["to"]]
    return ", ".join(f"{svc} {act} {at:+.2f}" for at, svc, act in inside) or "no container events in it"


FLOOR_CMD = ["sh", "-c", "trap 'exit 0' TERM INT; mkdir -p /srv; echo ok > /srv/health; httpd -p 9001 -h /srv; "
             "while :; do sleep 1 & wait $!; done"]


def _floor(stack: BenchStack, samples: int) -> dict[str, float]:
    """The engine alone moving a published host port between two containers: medians of stop, start, listen."""
    from stacktui.core.engine.client import Engine

    port = int(dict(ln.split("=", 1) for ln in (stack.dir / ".env").read_text().split())["DEMO_MCP_HTTP_PORT"]) + 7
    image = os.environ.get("STACKTUI_DEMO_IMAGE", "stacktui-demo:0.1.0")
    made = []
    parts: dict[str, list[float]] = {"stop": [], "start": [], "listen": [], "total": []}
    engine = Engine.from_env()
    try:
        for name in ("a", "b"):
            done = subprocess.run(["docker", "create", "--name", f"{stack.name}-floor-{name}", "--network",
                                   f"{stack.name}_default", "-p", f"127.0.0.1:{port}:9001",
                                   "--label", "stacktui.bench=layout-floor", image, *FLOOR_CMD],
                                  capture_output=True, text=True, timeout=60, check=True)
            made.append(done.stdout.strip())
        holder, other = made
        engine.start(holder)
        for _ in range(samples):
            deadline = time.perf_counter() + 30
            while not host_get_ok(port):
                if time.perf_counter() > deadline:
                    raise RuntimeError("the floor's holder never answered")
                time.sleep(0.05)
            time.sleep(0.5)
            t0 = time.perf_counter()
            engine.stop(holder, 10)
            t1 = time.perf_counter()
            engine.start(other)
            t2 = time.perf_counter()
            while not host_get_ok(port):
                if time.perf_counter() > t2 + 30:
                    raise RuntimeError("the floor's new holder never answered")
                time.sleep(0.005)
            t3 = time.perf_counter()
            for key, value in (("stop", t1 - t0), ("start", t2 - t1), ("listen", t3 - t2), ("total", t3 - t0)):
                parts[key].append(value)
            holder, other = other, holder
    finally:
        if made:
            subprocess.run(["docker", "rm", "-f", *made], capture_output=True, timeout=60)
        engine.close()
    return {k: statistics.median(v) for k, v in parts.items()}


def run(quick: bool) -> list[Row]:
    rounds = 2 if quick else 4
    separate_text, shared_text = _texts()
    samples: dict[str, list[float]] = {"stacktui": [], "compose": []}
    per_switch: dict[str, list[float]] = {"stacktui separate": [], "stacktui shared": [], "compose separate": [],
                                          "compose shared": []}
    last: dict[str, str] = {}
    with bench_stack("demo") as stack:
        port = int(dict(ln.split("=", 1) for ln in (stack.dir / ".env").read_text().split())["DEMO_MCP_HTTP_PORT"])
        switches = {
            "stacktui": (lambda: _stacktui(stack.dir, SEPARATE), lambda: _stacktui(stack.dir, SHARED)),
            "compose": (lambda: _compose_up(stack, separate_text), lambda: _compose_up(stack, shared_text)),
        }
        for i in range(rounds):
            for key in (["stacktui", "compose"] if i % 2 == 0 else ["compose", "stacktui"]):
                worst = 0.0
                for way, switch in zip(("separate", "shared"), switches[key]):
                    _settle(stack, port)
                    window = _window(stack, port, switch)
                    per_switch[f"{key} {way}"].append(window["gap"])
                    worst = max(worst, window["gap"])
                    if key == "stacktui":
                        last[way] = _breakdown(stack.name, window) + f" (window {window['gap']:.2f} s)"
                samples[key].append(worst)
        _settle(stack, port)
        floor = _floor(stack, 3 if quick else 5)
    med = {k: statistics.median(v) for k, v in samples.items()}
    ways = {k: statistics.median(v) for k, v in per_switch.items()}
    ratio = med["stacktui"] / med["compose"]
    load = os.getloadavg()
    note = (f"{rounds} alternating rounds at load {load[0]:.1f}; medians per switch: stacktui separate "
            f"{ways['stacktui separate']:.2f} s, shared {ways['stacktui shared']:.2f} s; compose up -d separate "
            f"{ways['compose separate']:.2f} s, shared {ways['compose shared']:.2f} s; polled every "
            f"{PERIOD * 1000:.0f} ms through the host port; the last stacktui windows, engine events from the "
            f"last answer: separate: {last.get('separate', '-')}; shared: {last.get('shared', '-')}; the engine's floor "
            f"for moving a published port between two containers (API stop of the holder, then start of the "
            f"other, to its first answer; medians): {floor['total']:.2f} s = stop {floor['stop']:.2f} + start "
            f"{floor['start']:.2f} + listen {floor['listen']:.2f}, {floor['total'] / med['compose']:.2f}x the "
            f"reference")
    return [Row("layout switch downtime: separate + shared mcp-server, longest window without /health", med["stacktui"],
                "s", "file + compose up -d", med["compose"], "<= 0.5x and < 1.5 s",
                ratio <= 0.5 and med["stacktui"] < 1.5, note)]
