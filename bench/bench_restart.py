"""Restarting vscode + mcp-server of the demo stack: stacktui's executor against two references, one run.

- stacktui: build_plan + execute for `restart vscode` (vscode, then mcp-server,
  each waiting for its gates: running, healthy, and mcp-server's probe through
  vscode's published 9001);
- (a) the same two restarts through the Docker SDK, back to back, no gates;
- (b) `docker compose restart vscode` (Compose 2.40 restarts mcp-server too).

Rounds interleave the three, each from a settled stack (everything healthy and
9001 answering), so load from elsewhere on the machine hits all three alike.
Figures are medians of wall time.
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

from bench.harness import Row

ROOT = Path(__file__).resolve().parent.parent
PORTS = ("DEMO_VSCODE_PORT", "DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compose(folder: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    from stacktui.core.compose.cli import compose_command

    done = subprocess.run([*compose_command(), *args], cwd=folder, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"compose {' '.join(args)}: {done.stderr.strip()[-600:]}")
    return done


def _settle(engine, project: str, mcp_url: str, client, timeout: float = 30.0) -> None:
    """Wait until both containers report healthy and 9001 answers through vscode: the same start for everyone."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = {c.service: c.health for c in engine.project_containers(project)}
        if health.get("vscode") == health.get("mcp-server") == "healthy":
            try:
                if client.get(mcp_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"demo stack {project} did not settle within {timeout:.0f} s")


_exec_cost = 0.0


def _healthcheck_until_ok(engine, container_id: str, timeout: float = 30.0) -> None:
    global _exec_cost
    test = (engine.inspect_raw(container_id)["Config"].get("Healthcheck") or {}).get("Test") or []
    cmd = ["/bin/sh", "-c", test[1]] if test[:1] == ["CMD-SHELL"] else test[1:]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        code, _ = engine.exec(container_id, cmd)
        _exec_cost = (time.perf_counter() - t0) * 1000
        if code == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"healthcheck of {container_id[:12]} did not pass within {timeout:.0f} s")


def run(quick: bool) -> list[Row]:
    import httpx

    from stacktui.core.compose.discovery import resolve_target
    from stacktui.core.engine.client import Engine
    from stacktui.core.loader import load_project
    from stacktui.core.restart.plan import build_plan, execute

    rounds = 3 if quick else 9
    name = f"bench{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="stacktui-bench-restart-"))
    folder = tmp / name
    shutil.copytree(ROOT / "compose" / "demo", folder)
    ports = {var: _free_port() for var in PORTS}
    env_lines = [f"COMPOSE_PROJECT_NAME={name}"] + [f"{k}={v}" for k, v in ports.items()]
    if os.environ.get("STACKTUI_DEMO_IMAGE"):
        env_lines.append(f"STACKTUI_DEMO_IMAGE={os.environ['STACKTUI_DEMO_IMAGE']}")
    (folder / ".env").write_text("\n".join(env_lines) + "\n")
    engine = Engine.from_env()
    client = httpx.Client()
    mcp_url = f"http://127.0.0.1:{ports['DEMO_MCP_HTTP_PORT']}/health"
    try:
        _compose(folder, "up", "-d", "--wait", "--wait-timeout", "120")
        target = resolve_target(files=[folder / "compose.yaml"], cwd=folder)
        project = load_project(target)

        def ids() -> dict[str, str]:
            return {c.service: c.id for c in engine.project_containers(project.name)}

        def ours() -> None:
            containers = engine.project_containers(project.name)
            plan = build_plan(project, ["vscode"], containers)
            result = execute(plan, project, engine, target, timeout=60, containers=containers)
            if not result.ok:
                raise RuntimeError(f"stacktui restart failed: {result.reason}")

        def sdk_back_to_back() -> None:
            found = ids()
            engine.restart(found["vscode"], timeout=10)
            engine.restart(found["mcp-server"], timeout=10)

        def compose_restart() -> None:
            _compose(folder, "restart", "vscode")

        def sdk_with_healthchecks() -> None:
            # What a careful script does: each restart, then the container's own healthcheck
            # command until it passes. Not a target, but it shows what the gates cost.
            found = ids()
            for service in ("vscode", "mcp-server"):
                engine.restart(found[service], timeout=10)
                _healthcheck_until_ok(engine, found[service])

        variants: dict[str, Callable[[], None]] = {"stacktui": ours, "sdk": sdk_back_to_back,
                                                    "compose": compose_restart, "checked": sdk_with_healthchecks}
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for i in range(rounds):
            order = list(variants)
            order = order[i % len(order):] + order[:i % len(order)]  # rotate who goes first
            for key in order:
                _settle(engine, project.name, mcp_url, client)
                t0 = time.perf_counter()
                variants[key]()
                samples[key].append(time.perf_counter() - t0)
        # The executor must have left mcp-server reachable: check once more after a stacktui run.
        _settle(engine, project.name, mcp_url, client)
        ours()
        if client.get(mcp_url, timeout=2).status_code != 200:
            raise RuntimeError("9001 does not answer after stacktui's restart")
    finally:
        client.close()
        try:
            _compose(folder, "down", "-v", "-t", "1", "--remove-orphans")
        finally:
            engine.close()
            shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in samples.items()}
    spread = {k: f"{min(v):.2f}-{max(v):.2f}" for k, v in samples.items()}
    # Each round's three runs sit close in time: their ratios shrug off load that comes and goes.
    paired_a = statistics.median(o / r for o, r in zip(samples["stacktui"], samples["sdk"]))
    paired_b = statistics.median(o / r for o, r in zip(samples["stacktui"], samples["compose"]))
    best = {k: min(v) for k, v in samples.items()}
    load = os.getloadavg()[0]
    note = (f"{rounds} interleaved rounds at load {load:.1f}; ranges stacktui {spread['stacktui']} s, SDK "
            f"{spread['sdk']} s, compose {spread['compose']} s; median per-round ratios {paired_a:.3f} (SDK) and "
            f"{paired_b:.3f} (compose); ratios of the fastest runs {best['stacktui'] / best['sdk']:.3f} (SDK) and "
            f"{best['stacktui'] / best['compose']:.3f} (compose); stacktui also waits for its gates "
            f"(running, healthy, probe)")
    note += (f"; SDK restarts each followed by the container's healthcheck command until it passes: "
             f"{med['checked']:.3f} s (stacktui / that = {med['stacktui'] / med['checked']:.3f}); one healthcheck "
             f"exec costs {_exec_cost:.0f} ms on this engine")
    # Not judged since issue 19: the working-again row (bench_working.py) judges a restart by when the
    # stack answers again, from the command being run; these stay as the executor's own figures.
    return [
        Row("restart vscode+mcp-server (gated) vs SDK restarts back to back", med["stacktui"], "s",
            "SDK restart x2", med["sdk"], "-", None, note),
        Row("restart vscode+mcp-server (gated) vs docker compose restart vscode", med["stacktui"], "s",
            "compose restart", med["compose"], "-", None,
            "not judged: see the working-again row, which times the command to the stack answering"),
        Row("restart vscode+mcp-server (gated) vs SDK restarts + healthcheck commands", med["stacktui"], "s",
            "SDK restart + exec x2", med["checked"], "-", None,
            "not a target of the issue: the same waits done by hand, so the ratio is stacktui's own overhead"),
    ]
