"""`make chaos [ARGS="--minutes N" | ARGS=--quick]`: self-heal under random faults, in figures.

On the fault engine (a private dockerd this script may stop; never the user's), it starts a
copy of the demo stack and of the chain stack with `restart: unless-stopped` on every
service, runs `stacktui watch --heal --json --all-projects`, and for N minutes injects
faults at random: a raw restart of an owner, `kill -9` of an owner's PID 1 (its restart
policy brings it back), a recreate of an owner, a joiner stopped by hand (then its owner
restarted: the joiner must stay stopped), a crash-looping owner, and a restart of the
daemon itself. After each fault it checks the stack from outside (mcp-server's /health
through vscode's published port and the backend's next call; the chain's api and worker
through the gateway's ports) and writes the figures to docs/chaos.md.

Run it under `flock /tmp/stacktui-faults.lock` (the fault engine's bridge is shared with the
fault tests); `make chaos` does.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stackutil import compose_cmd, free_port  # noqa: E402

_spec = importlib.util.spec_from_file_location("devengine", ROOT / "scripts" / "devengine.py")
devengine = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
sys.modules["devengine"] = devengine
_spec.loader.exec_module(devengine)

KINDS = ("raw_restart", "kill9", "recreate", "hand_stop", "crash_loop", "daemon_restart")
WEIGHTS = (4, 4, 2, 2, 1, 1)
HEAL_DEADLINE = 30.0  # seconds for a stranded stack to answer again
CRASH_SECONDS = 8.0  # how long an owner keeps crashing
GAP = 11.0  # seconds between two faults on one stack: more than the healer's settle time (10 s)
# Prepended to the owner's script: it dies half a second after each start while scripts/crash-OWNER exists.
CRASH_LINE = ('[ "${{1:-{owner}}}" = {owner} ] && [ -f /scripts/crash-{owner} ] && '
              '{{ echo "{owner}: crashing on purpose (scripts/crash-{owner})"; sleep 0.5; exit 3; }}\n')


@dataclass
class ChaosStack:
    kind: str
    name: str
    dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    owner: str
    leaf: str  # the joiner a hand stop stops
    health_ports: tuple[str, ...]
    last_fault: float = 0.0

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose_cmd(), "-f", "compose.yaml", "-f", "compose.chaos.yaml", *args], cwd=self.dir,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def docker(self, *args: str, timeout: float = 60) -> str:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout).stdout.strip()

    def inspect(self, service: str) -> dict[str, Any]:
        ids = self.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}",
                          "--filter", f"label=com.docker.compose.service={service}").split()
        if not ids:
            return {}
        out = self.docker("inspect", ids[0])
        return json.loads(out)[0] if out else {}

    def started_at(self, service: str) -> float | None:
        info = self.inspect(service)
        return _stamp((info.get("State") or {}).get("StartedAt"))

    def answering(self) -> bool:
        return all(_get(self.ports[p]) for p in self.health_ports)

    def backend_calls_ok(self, since: float, timeout: float = 10.0) -> bool:
        """The demo's backend logged a good call to mcp-server after `since` (the chain: always true)."""
        if self.kind != "demo":
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.inspect("backend")
            logs = subprocess.run(["docker", "logs", "--since", f"{since:.3f}", info.get("Id", "none")], env=self.env,
                                  capture_output=True, text=True, timeout=30).stdout
            if "MCP reachable" in logs:
                return True
            time.sleep(0.5)
        return False


def _stamp(value: str | None) -> float | None:
    if not value or value.startswith("0001"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head).replace(tzinfo=timezone.utc).timestamp()
    return base + float("0." + (frac or "0"))


def _get(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def make_stack(kind: str, host: str, image: str, base: Path) -> ChaosStack:
    name = f"chaos{kind}{os.getpid() % 10000}"
    dest = base / name
    shutil.copytree(ROOT / "compose" / kind, dest)
    if kind == "demo":
        ports = {p: free_port() for p in ("DEMO_VSCODE_PORT", "DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT")}
        owner, leaf, services, checks = "vscode", "mcp-server", ("vscode", "mcp-server", "backend"), ("DEMO_MCP_HTTP_PORT",)
        script = dest / "scripts" / "vscode.sh"
    else:
        ports = {p: free_port() for p in ("CHAIN_GATEWAY_PORT", "CHAIN_API_PORT", "CHAIN_WORKER_PORT")}
        owner, leaf, services = "gateway", "worker", ("gateway", "api", "worker", "client")
        checks = ("CHAIN_API_PORT", "CHAIN_WORKER_PORT")
        script = dest / "scripts" / "serve.sh"
    # The owner crash-loops while scripts/crash exists (a copy's script; the repository's stays as it is).
    script.write_text(CRASH_LINE.format(owner=owner) + script.read_text())
    (dest / "compose.chaos.yaml").write_text(
        "services:\n" + "".join(f"  {s}:\n    restart: unless-stopped\n" for s in services))
    env_lines = [f"COMPOSE_PROJECT_NAME={name}", f"STACKTUI_DEMO_IMAGE={image}",
                 "COMPOSE_FILE=compose.yaml:compose.chaos.yaml"] + [f"{k}={v}" for k, v in ports.items()]
    (dest / ".env").write_text("\n".join(env_lines) + "\n")
    env = {**os.environ, "DOCKER_HOST": host, "STACKTUI_DEMO_IMAGE": image}
    return ChaosStack(kind, name, dest, env, ports, owner, leaf, checks)


class Watch:
    """`stacktui watch --heal --json --all-projects` as a process; its lines kept with their arrival time."""

    def __init__(self, host: str, cwd: Path) -> None:
        env = {**os.environ, "DOCKER_HOST": host, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "stacktui", "watch", "--heal", "--json", "--all-projects"],
                                     cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.events: list[dict[str, Any]] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr or []), daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout or []:
            if line.startswith("{"):
                self.events.append({**json.loads(line), "_at": time.time()})

    def count(self, event: str, since: float = 0.0, project: str | None = None) -> int:
        return len([e for e in list(self.events) if e["event"] == event and e["_at"] >= since
                    and (project is None or e["project"] == project)])

    def wait(self, event: str, projects: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if projects <= {e["project"] for e in list(self.events) if e["event"] == event}:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)


@dataclass
class Tally:
    faults: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    stranded: int = 0
    healed: int = 0
    heal_times: list[float] = field(default_factory=list)
    false_heals: int = 0
    failed: list[str] = field(default_factory=list)
    backoffs: int = 0
    storms: int = 0
    crash_recoveries: list[float] = field(default_factory=list)
    backend_ok: int = 0
    backend_checked: int = 0


def wait_answering(stacks: list[ChaosStack], timeout: float) -> float | None:
    """Time (unix) when every stack answered, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.answering() for s in stacks):
            return time.time()
        time.sleep(0.05)
    return None


def healed(tally: Tally, stacks: list[ChaosStack], what: str, starts: list[float | None], fault_at: float) -> None:
    tally.stranded += 1
    answered = wait_answering(stacks, HEAL_DEADLINE)
    if answered is None:
        tally.failed.append(f"{what}: not answering within {HEAL_DEADLINE:g} s")
        return
    tally.healed += 1
    began = max([s for s in starts if s is not None], default=fault_at)
    tally.heal_times.append(max(0.0, answered - began))
    for s in stacks:
        tally.backend_checked += s.kind == "demo"
        tally.backend_ok += s.kind == "demo" and s.backend_calls_ok(answered)


def inject(kind: str, stack: ChaosStack, stacks: list[ChaosStack], engine: Any, watch: Watch, tally: Tally) -> str:
    at = time.time()
    before = stack.started_at(stack.owner)
    what = f"{kind} {stack.name}/{stack.owner}"
    if kind == "raw_restart":
        stack.docker("restart", "-t", "1", f"{stack.name}-{stack.owner}-1")
        healed(tally, [stack], what, [stack.started_at(stack.owner)], at)
    elif kind == "kill9":
        pid = (stack.inspect(stack.owner).get("State") or {}).get("Pid") or 0
        if pid:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while stack.started_at(stack.owner) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        healed(tally, [stack], what, [stack.started_at(stack.owner)], at)
    elif kind == "recreate":
        stack.compose("up", "-d", "--no-deps", "--force-recreate", stack.owner)
        healed(tally, [stack], what, [stack.started_at(stack.owner)], at)
    elif kind == "hand_stop":
        what = f"{kind} {stack.name}/{stack.leaf}, then a raw restart of {stack.owner}"
        stack.docker("stop", "-t", "1", f"{stack.name}-{stack.leaf}-1")
        stopped = stack.inspect(stack.leaf)
        stack.docker("restart", "-t", "1", f"{stack.name}-{stack.owner}-1")
        time.sleep(6)  # heals of the others are done in ~1 s; the stopped joiner must still be stopped
        now = stack.inspect(stack.leaf)
        if (now.get("State") or {}).get("Status") != "exited" or \
                (now.get("State") or {}).get("StartedAt") != (stopped.get("State") or {}).get("StartedAt"):
            tally.false_heals += 1
        stack.docker("start", f"{stack.name}-{stack.leaf}-1")  # the user starts it again
        if wait_answering([stack], HEAL_DEADLINE) is None:
            tally.failed.append(f"{what}: not answering after the user started {stack.leaf} again")
    elif kind == "crash_loop":
        marker = stack.dir / "scripts" / f"crash-{stack.owner}"
        heals_before = watch.count("heal_started", at, stack.name)
        marker.write_text("1\n")
        # From the host, as a crash would: `docker kill` counts as a stop by hand, and the policy would not restart it.
        os.kill((stack.inspect(stack.owner).get("State") or {}).get("Pid") or 0, signal.SIGKILL)
        time.sleep(CRASH_SECONDS)
        marker.unlink()
        answered = wait_answering([stack], 180)
        heals = watch.count("heal_started", at, stack.name) - heals_before
        from stacktui.core.heal.backoff import MAX_ATTEMPTS

        joiners = 1 if stack.kind == "demo" else 2
        if heals > (MAX_ATTEMPTS + 1) * joiners:
            tally.storms += 1
        if answered is None:
            tally.failed.append(f"{what}: not answering within 180 s of the loop ending")
        else:
            tally.crash_recoveries.append(answered - at - CRASH_SECONDS)
    elif kind == "daemon_restart":
        what = "daemon_restart (every stack)"
        lost_before = watch.count("engine_back")
        engine.stop(signal.SIGTERM, remove_bridge=False)
        engine.start()
        watch_back = time.monotonic() + 60
        while watch.count("engine_back") < lost_before + len(stacks) and time.monotonic() < watch_back:
            time.sleep(0.1)
        healed(tally, stacks, what, [s.started_at(s.owner) for s in stacks], at)
    tally.faults[kind] += 1
    stack.last_fault = time.time()
    return what


def idle_cpu(pid: int, seconds: float) -> float:
    import psutil

    proc = psutil.Process(pid)
    before = sum(proc.cpu_times()[:2]) + sum(c.cpu_times()[0] + c.cpu_times()[1] for c in proc.children(True))
    time.sleep(seconds)
    after = sum(proc.cpu_times()[:2]) + sum(c.cpu_times()[0] + c.cpu_times()[1] for c in proc.children(True))
    return 100.0 * (after - before) / seconds


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def report(tally: Tally, args: argparse.Namespace, minutes: float, rss: tuple[float, float, float], cpu: float,
           watch: Watch, log: list[str], code: int) -> str:
    times = tally.heal_times
    heal_done = [e["elapsed_s"] for e in watch.events if e["event"] == "heal_done" and e["elapsed_s"] is not None]
    lines = [
        "# Chaos: self-heal under random faults",
        "",
        f"Command: `make chaos{' ARGS=--quick' if args.quick else f' ARGS=--minutes {args.minutes:g}'}` "
        f"({minutes:.1f} minutes of faults, seed {args.seed}), {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        "on the fault engine (a private dockerd 20.10), 2 cores shared with other work.",
        "",
        "The demo stack and the chain stack run with `restart: unless-stopped` on every service; "
        "`stacktui watch --heal --json --all-projects` watches them. Time to heal: from the owner's start "
        "(its State.StartedAt) to the stack answering from outside (mcp-server's /health through vscode's port; "
        "the chain's api and worker through the gateway's ports), polled every 50 ms.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        "| faults by kind | " + ", ".join(f"{k} {n}" for k, n in tally.faults.items()) + " | |",
        f"| back answering after raw restart, kill -9, recreate, daemon restart | {tally.healed} of {tally.stranded} | all |",
        f"| time to heal p50 / p95 / max | {pct(times, .5):.2f} / {pct(times, .95):.2f} / "
        f"{max(times, default=float('nan')):.2f} s | p95 < 2 s |",
        f"| watcher's own heal_done elapsed_s p50 / max | {pct(heal_done, .5):.2f} / "
        f"{max(heal_done, default=float('nan')):.2f} s | |",
        f"| backend's next call good after a heal | {tally.backend_ok} of {tally.backend_checked} | all |",
        f"| false heals (a hand-stopped joiner started) | {tally.false_heals} | 0 |",
        f"| failed heals | {len(tally.failed)} | 0 |",
        f"| backoff events | {watch.count('backoff')} | |",
        f"| crash loop: back after the loop ended | "
        + (", ".join(f"{t:.1f} s" for t in tally.crash_recoveries) or "-") + " | |",
        f"| restart storms | {tally.storms} | 0 |",
        f"| watcher RSS at start / after its first heal / at the end | {rss[0]:.1f} / {rss[1]:.1f} / {rss[2]:.1f} MB "
        f"(growth after the first heal {rss[2] - rss[1]:+.1f} MB) | < 5 MB growth |",
        f"| watcher CPU while idle | {cpu:.2f} % of a core | < 0.5 % |",
        f"| watcher exit on SIGTERM | {code} | 0 |",
        "",
    ]
    lines += [
        "Notes: RSS rises once at the first heal (httpx, ssl and the restart plan's thread pools are loaded "
        "then), so growth is counted from there. Every service has a restart policy: a joiner without one that a "
        "daemon restart stopped cannot be told from one stopped by hand, and the watcher leaves it stopped. With "
        "dockerd 20.10 a daemon restart started owners before joiners, so it stranded nothing here; the "
        "watcher's look after `engine_back` found nothing to do. A hand stop is followed by a raw restart of "
        "the owner; the stopped joiner must still be stopped 6 s later.",
        "",
    ]
    if tally.failed:
        lines += ["Failed:", ""] + [f"- {f}" for f in tally.failed] + [""]
    lines += ["Faults in order:", ""] + [f"{i}. {w}" for i, w in enumerate(log, 1)] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "chaos.md"))
    parser.add_argument("--idle", type=float, default=None, help="seconds of the idle CPU measurement")
    args = parser.parse_args(argv)
    minutes = 2.0 if args.quick else args.minutes
    args.seed = args.seed if args.seed is not None else int(time.time()) % 100000
    rnd = random.Random(args.seed)
    devengine.ensure_tools()
    engine = devengine.fault_engine()
    engine.start()
    host = engine.host
    image = devengine.image(host)
    base = Path(tempfile.mkdtemp(prefix="chaos"))
    stacks = [make_stack("demo", host, image, base), make_stack("chain", host, image, base)]
    watch: Watch | None = None
    tally, log = Tally(), []
    warm: list[float] = []
    try:
        for s in stacks:
            up = s.compose("up", "-d", "--wait", "--wait-timeout", "90")
            if up.returncode != 0:
                raise SystemExit(f"compose up failed for {s.name}: {up.stderr}")
        watch = Watch(host, base)
        if not watch.wait("watching", {s.name for s in stacks}, 60):
            raise SystemExit(f"the watcher did not start: {''.join(watch.err)}")
        time.sleep(2)
        pid = watch.proc.pid
        rss_start = rss_mb(pid)
        cpu = idle_cpu(pid, args.idle or (15.0 if args.quick else 30.0))
        deadline = time.monotonic() + minutes * 60
        todo = list(KINDS)
        rnd.shuffle(todo)
        while time.monotonic() < deadline:
            ready = [s for s in stacks if time.time() - s.last_fault >= GAP]
            if not ready:
                time.sleep(0.5)
                continue
            kind = todo.pop(0) if todo else rnd.choices(KINDS, WEIGHTS)[0]
            stack = rnd.choice(ready)
            if kind == "daemon_restart" and len(ready) < len(stacks):
                time.sleep(0.5)
                todo.insert(0, kind)
                continue
            what = inject(kind, stack, stacks, engine, watch, tally)
            if not warm and watch.count("heal_done"):
                warm.append(rss_mb(pid))  # after the first heal: httpx, ssl and the plan's threads are loaded
            log.append(what)
            print(f"chaos: {len(log)}. {what}", file=sys.stderr, flush=True)
            if kind == "daemon_restart":
                for s in stacks:
                    s.last_fault = time.time()
        rss_end = rss_mb(pid)
        code = watch.stop()
        text = report(tally, args, minutes, (rss_start, warm[0] if warm else rss_start, rss_end), cpu, watch, log, code)
        Path(args.out).write_text(text)
        print(text)
        return 0 if not tally.failed and not tally.false_heals and not tally.storms else 1
    finally:
        if watch is not None and watch.proc.poll() is None:
            watch.stop()
        engine.start()
        for s in stacks:
            s.compose("down", "-v", "-t", "1", "--remove-orphans")
        engine.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
