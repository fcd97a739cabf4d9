"""Working again: from `stacktui restart vscode` being run to the stack answering again.

"Answering" is mcp-server's /health answering both
- through vscode's published host port (127.0.0.1:DEMO_MCP_HTTP_PORT), and
- at the URL the backend uses (`http://vscode:9001/health`), asked from inside the backend
  container's network namespace: bench/nsprobe.py entered with `nsenter -t PID -n`, resolving
  `vscode` through the engine's embedded DNS as the backend does (its cost is in the note).

Both are polled together every 20 ms from just before the command is spawned; the stack is
working again at the first poll where both answer after the last poll where one did not (the
polls go on until both have answered for STABLE seconds after the command exited).

- stacktui: `python -m stacktui restart vscode` as a process, in the stack's folder (a user's
  command: interpreter start, imports, plan, lock, the restarts and their gates);
- reference: `docker compose restart vscode` (Compose restarts mcp-server too) and the same polls.

Rounds alternate which goes first, each from a settled stack. Also counted: rounds in which
stacktui exited (said done) before the stack answered (a poll sent after its exit failed); the
note counts apart the rounds whose exit fell between a failed poll and the next, answered one.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time

from bench.availability import NamespaceProbe, Poller, back_at, container_pid, host_get_ok
from bench.harness import Row
from bench.stackutil import ROOT, BenchStack, bench_stack, compose_cmd

PERIOD = 0.02
# What stacktui prints as it goes (commands/restart.py), read as the phases of a run.
PHASES = {"plan": "restart plan for project", "vscode_back": "done: vscode back", "mcp_started": "[2/2] restart mcp-server",
          "mcp_back": "done: mcp-server back"}
STABLE = 1.0
DEADLINE = 60.0


def _settle(stack: BenchStack, poller: Poller, timeout: float = 60.0) -> None:
    """Every container healthy and both probes answering: the same start for each variant."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = stack.compose("ps", "--format", "{{.Service}} {{.Health}}", timeout=30).stdout.split("\n")
        health = dict(ln.split(" ", 1) for ln in out if " " in ln)
        if health and all(h == "healthy" for h in health.values()) and poller.poll_once():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{stack.name} did not settle within {timeout:.0f} s")


def _round(argv: list[str], stack: BenchStack, poller_probes: list, env: dict[str, str]) -> dict[str, float | bool]:
    """One timed run: spawn argv, poll until up for STABLE s after its exit."""
    poller = Poller(poller_probes, PERIOD)
    t0 = time.perf_counter()
    poller.start()
    proc = subprocess.Popen(argv, cwd=stack.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    lines: list[tuple[float, str]] = []  # each output line with when it came: the phases of the run

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.perf_counter() - t0, line.rstrip()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        poller.stop()
        raise RuntimeError(f"{argv[-2:]} did not finish within {DEADLINE:.0f} s")
    exited = time.perf_counter()
    reader.join(10)
    out = err = "\n".join(text for _, text in lines)
    if proc.returncode != 0:
        poller.stop()
        raise RuntimeError(f"{' '.join(argv[-3:])} exited {proc.returncode}: {(err or out).strip()[-600:]}")
    deadline = exited + DEADLINE
    while time.perf_counter() < deadline:
        up_since = back_at(poller.polls) or (poller.polls[0][0] if poller.polls and all(ok for _, ok in poller.polls)
                                            else None)
        if up_since is not None and poller.up_for(max(up_since, exited), STABLE):
            break
        time.sleep(0.05)
    polls = poller.stop()
    back = back_at(polls)
    if back is None:
        raise RuntimeError(f"{' '.join(argv[-3:])}: the stack never stopped answering, or never answered again")
    early, within_poll, said = judge_exit(polls, poller.answers, exited)
    phases = {key: next((at for at, text in lines if pattern in text), float("nan"))
              for key, pattern in PHASES.items()}
    return {"seconds": back - t0, "exit": exited - t0, "early": early, "within_poll": within_poll, "late": said,
            **phases}


def judge_exit(polls: list[tuple[float, bool]], answers: list[tuple[bool, ...]],
               exited: float) -> tuple[bool, bool, str]:
    """(early, within a poll, what failed after the exit) for a round whose command exited at `exited`.

    Early means a poll sent after the exit failed: the stack did not answer once stacktui had said
    done. A failed poll sent before the exit, with the next one (after it) answered, proves nothing
    either way (the stack may have answered from any moment between the two): "within a poll",
    counted apart in the note, neither a lie nor hidden.
    """
    late = [(t - exited, a) for (t, ok), a in zip(polls, answers) if t > exited and not ok]
    said = ""
    if late:
        which = sorted({("host port", "backend's view")[i] for _, a in late for i, ok in enumerate(a) if not ok})
        said = (f"{' and '.join(which)} failing {late[0][0] * 1000:.0f}-{late[-1][0] * 1000:.0f} ms after the "
                f"exit ({len(late)} polls)")
    back = back_at(polls)
    return bool(late), back is not None and exited < back and not late, said


def _probe_costs(ns: NamespaceProbe, port: int, backend: str) -> str:
    def med(fn, n: int = 20) -> float:
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples) * 1000

    exec_cost = med(lambda: subprocess.run(["docker", "exec", backend, "wget", "-q", "-O", "/dev/null",
                                            "http://vscode:9001/health"], capture_output=True, timeout=30), 5)
    return (f"one poll: host port {med(lambda: host_get_ok(port)):.1f} ms, backend's namespace via nsenter'd "
            f"helper {med(ns):.1f} ms (a `docker exec backend wget` costs {exec_cost:.0f} ms, too coarse for "
            f"a 20 ms poll)")


def run(quick: bool) -> list[Row]:
    rounds = 3 if quick else 7
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ours = [sys.executable, "-m", "stacktui", "restart", "vscode"]
    theirs = [*compose_cmd(), "restart", "vscode"]
    samples: dict[str, list[dict]] = {"stacktui": [], "compose": []}
    with bench_stack("demo") as stack:
        port = int(dict(ln.split("=", 1) for ln in (stack.dir / ".env").read_text().split())["DEMO_MCP_HTTP_PORT"])
        backend = stack.container_id("backend")
        with NamespaceProbe(container_pid(backend), "vscode", 9001) as ns:
            probes = [lambda: host_get_ok(port), ns]
            checker = Poller(probes, PERIOD)
            _settle(stack, checker)
            costs = _probe_costs(ns, port, backend)
            for i in range(rounds):
                order = ["stacktui", "compose"] if i % 2 == 0 else ["compose", "stacktui"]
                for key in order:
                    _settle(stack, checker)
                    if container_pid(backend) != int(ns.proc.args[2]):
                        raise RuntimeError("the backend was restarted: its namespace probe would ask a dead one")
                    samples[key].append(_round(ours if key == "stacktui" else theirs, stack, probes, env))
    med = {k: statistics.median(s["seconds"] for s in v) for k, v in samples.items()}
    exits = {k: statistics.median(s["exit"] for s in v) for k, v in samples.items()}
    early = sum(s["early"] for s in samples["stacktui"])
    paired = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(samples["stacktui"], samples["compose"]))
    spread = {k: f"{min(s['seconds'] for s in v):.2f}-{max(s['seconds'] for s in v):.2f}" for k, v in samples.items()}
    load = os.getloadavg()
    note = (f"{rounds} alternating rounds at load {load[0]:.1f}; ranges stacktui {spread['stacktui']} s, compose "
            f"{spread['compose']} s; median per-round ratio {paired:.3f}; the command exited after "
            f"{exits['stacktui']:.2f} s (stacktui) and {exits['compose']:.2f} s (compose, which does not wait "
            f"for health); polled every {PERIOD * 1000:.0f} ms; {costs}")
    ph = {k: statistics.median(s[k] for s in samples["stacktui"]) for k in PHASES}
    note += (f"; stacktui's phases (medians from the run): plan printed {ph['plan']:.2f} s (interpreter, imports, "
             f"project load), vscode restarted and healthy {ph['vscode_back']:.2f} s, mcp-server's start begun "
             f"{ph['mcp_started']:.2f} s, its gates passed {ph['mcp_back']:.2f} s")
    ratio = med["stacktui"] / med["compose"]
    return [
        Row("working again after `restart vscode`: run -> mcp-server answers via host port and from backend",
            med["stacktui"], "s", "compose restart + polls", med["compose"], "ratio <= 1.0", ratio <= 1.0, note),
        Row("working again: rounds where stacktui said done before the stack answered", early, "rounds",
            "rounds", rounds, "0", early == 0,
            "a poll sent after stacktui's restart exited 0 failed (a done that comes early is a lie)"
            + "".join(f"; {s['late']}" for s in samples["stacktui"] if s["early"])
            + f"; rounds whose exit fell between a failed poll and the next, answered one: "
              f"{sum(s['within_poll'] for s in samples['stacktui'])}"),
    ]
