"""What sharing buys, measured: request latency per layout, and what `stacktui latency` costs.

On the demo: `stacktui layout separate mcp-server --yes`, then `stacktui latency --json`
(the default 200 asks per path); `stacktui layout shared mcp-server --with vscode --yes`, then
the same. The figures are p50s of a whole /health request on mcp-server:9001 (a new connection
each, HTTP/1.0, the answer read to its end): from inside the namespace to localhost, and from
backend's namespace across the bridge (the engine's DNS lookup included, as a new client pays).

Reference, beside the bridge rows: the same request made the naive way, `docker exec backend
wget -q -O - URL` in a loop, timed from the host; each one pays a runc exec, which is what the
helper's figures are free of.

The cost rows: wall time and CPU (user + system of stacktui and the helpers it starts and reaps)
of `stacktui latency` with its defaults on the demo (every listening port, 200 asks per path),
medians of three runs.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import Row
from bench.stackutil import ROOT, BenchStack, bench_stack

DEADLINE = 180.0
SEPARATE = ["layout", "separate", "mcp-server", "--yes"]
SHARED = ["layout", "shared", "mcp-server", "--with", "vscode", "--yes"]


def _stacktui(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "stacktui", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=DEADLINE)


def _must(done: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        raise RuntimeError(f"{what} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-800:]}")
    return done


def _figures(folder: Path) -> dict[str, dict]:
    """kind -> the path to mcp-server:9001 from `stacktui latency --json` (exit 1 = a failed ask: still read)."""
    done = _stacktui(folder, ["latency", "--json", "mcp-server"])
    if done.returncode not in (0, 1):
        raise RuntimeError(f"stacktui latency exited {done.returncode}: {done.stderr.strip()[-800:]}")
    report = json.loads(done.stdout)
    return {p["kind"]: p for p in report["paths"] if p["port"] == 9001}


def _naive(stack: BenchStack, url: str, count: int) -> list[float]:
    """ms per request of `docker exec backend wget URL`, each timed from the host."""
    cid = stack.container_id("backend")
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        done = subprocess.run(["docker", "exec", cid, "timeout", "2", "wget", "-q", "-O", "-", url],
                              capture_output=True, timeout=30)
        if done.returncode == 0:
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _cost(folder: Path, runs: int) -> tuple[float, float, int]:
    """Medians of wall seconds and CPU seconds (the process and every child it reaped) of `stacktui latency`,
    and the number of paths it measured."""
    walls, cpus, paths = [], [], 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = _stacktui(folder, ["latency", "--json"])
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"stacktui latency exited {done.returncode}: {done.stderr.strip()[-800:]}")
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        paths = len(json.loads(done.stdout)["paths"])
    return statistics.median(walls), statistics.median(cpus), paths


def _p50(path: dict, what: str = "http") -> float:
    return float(path[what]["p50_ms"])


def _failed(paths: dict[str, dict]) -> str:
    bad = [f"{kind} {f['what']} {f['failed']} failed, {f['not_run']} not run of {f['asked']}"
           for kind, p in paths.items() for f in ({**p[w], "what": w} for w in ("connect", "http") if w in p)
           if f["failed"] or f["not_run"]]
    return f"; {', '.join(bad)}" if bad else ""


def run(quick: bool) -> list[Row]:
    naive_count = 20 if quick else 50
    load = os.getloadavg()
    with bench_stack("demo") as stack:
        _must(_stacktui(stack.dir, SEPARATE), "layout separate")
        separate = _figures(stack.dir)
        naive_separate = _naive(stack, "http://mcp-server:9001/health", naive_count)
        _must(_stacktui(stack.dir, SHARED), "layout shared")
        shared = _figures(stack.dir)
        naive_shared = _naive(stack, "http://vscode:9001/health", naive_count)
        wall, cpu, npaths = _cost(stack.dir, 2 if quick else 3)
    loaded = f"load {load[0]:.1f} on {os.cpu_count()} CPUs before the row"
    rows = []
    for layout, paths, naive in (("shared", shared, naive_shared), ("separate", separate, naive_separate)):
        local, bridge, host = paths["namespace"], paths["bridge"], paths["host"]
        naive_p50 = statistics.median(naive) if naive else None
        note = (f"p95/p99/max: localhost {local['http']['p95_ms']:.3g}/{local['http']['p99_ms']:.3g}/"
                f"{local['http']['max_ms']:.3g} ms, bridge {bridge['http']['p95_ms']:.3g}/"
                f"{bridge['http']['p99_ms']:.3g}/{bridge['http']['max_ms']:.3g} ms; TCP connect p50: localhost "
                f"{_p50(local, 'connect'):.3g} ms, bridge {_p50(bridge, 'connect'):.3g} ms; engine DNS p50 "
                f"{_p50(bridge, 'lookup'):.3g} ms; host port {_p50(host):.3g} ms (docker-proxy); naive: "
                f"{len(naive)} of {naive_count} `docker exec backend wget` answered; {loaded}{_failed(paths)}")
        rows.append(Row(f"latency per layout ({layout}): /health p50 across the bridge, backend -> "
                        f"{bridge['to']}", _p50(bridge), "ms", "docker exec backend wget", naive_p50, "-", None, note))
        rows.append(Row(f"latency per layout ({layout}): /health p50 on localhost in mcp-server's namespace",
                        _p50(local), "ms", "the bridge, same layout", _p50(bridge), "-", None,
                        "what sharing buys a caller inside the namespace: the ratio is localhost / bridge"))
    rows.append(Row(f"stacktui latency (defaults: demo, {npaths} paths x 200 asks): wall", wall, "s", "-", None, "-", None,
                    f"median of {2 if quick else 3} runs; {loaded}"))
    rows.append(Row("stacktui latency (defaults): CPU, user + system with its helpers", cpu, "s", "-", None, "-", None,
                    "RUSAGE_CHILDREN of the bench process around each run"))
    return rows
