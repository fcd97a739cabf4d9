"""A restart of vscode's container, with mcp-server's /health polled on its published port every 20 ms:
the demo's `stacktui kube export` played as one Pod on Podman 4.3 (a private Podman, image built offline),
beside the demo stack on Docker with Compose (`docker restart` of vscode, mcp-server in its namespace
through `network_mode: service:vscode`).

Figure: from the restart command's start to the first answer after the command returned. On Docker mcp-server is stranded in vscode's dead namespace: its port
does not answer again within the window (until something restarts mcp-server: `stacktui restart`,
`watch --heal`), so the reference is "never" and the row judges that the Pod answers and Compose does not.
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from bench.harness import Row
from bench.stackutil import DEMO_PORTS, ROOT, bench_stack, free_port

WINDOW = 15.0  # seconds after the restart command returned that an answer is waited for
POLL = 0.02


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as reply:
            return reply.status == 200
    except OSError:
        return False


def _restart_to_answer(restart: Callable[[], None], url: str) -> float | None:
    """Seconds from the restart's start to the first answer after it returned; None: none in the window."""
    t0 = time.perf_counter()
    restart()
    returned = time.perf_counter()
    while time.perf_counter() - returned < WINDOW:
        if _answers(url):
            return time.perf_counter() - t0
        time.sleep(POLL)
    return None


def _run(cmd: list[str], runner: Callable[..., subprocess.CompletedProcess[str]] | None = None) -> None:
    done = (runner or _plain)(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {done.stderr.strip()[-400:]}")


def _plain(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _devengine() -> Any:
    spec = importlib.util.spec_from_file_location("devengine", ROOT / "scripts" / "devengine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("devengine", module)
    spec.loader.exec_module(module)
    return module


def _pod(rounds: int) -> list[float | None]:
    service = _devengine().PodmanService()
    service.start()
    try:
        image = service.image()
        with tempfile.TemporaryDirectory(prefix="stacktui-kubepod-") as tmp:
            folder = Path(tmp) / "demo"
            import shutil

            shutil.copytree(ROOT / "compose" / "demo", folder)
            ports = {var: free_port() for var in DEMO_PORTS}
            (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in ports.items())
                                         + f"STACKTUI_DEMO_IMAGE={image}\n")
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            env.pop("STACKTUI_DEMO_IMAGE", None)
            done = subprocess.run([sys.executable, "-m", "stacktui", "kube", "export", "--k8s-version", "1.28",
                                   "--expose", "hostport"], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=120, check=True)
            manifest = Path(tmp) / "demo.yaml"
            manifest.write_text(done.stdout)
            played = service.podman("kube", "play", str(manifest), timeout=120)
            if played.returncode != 0:
                raise RuntimeError(f"podman kube play: {played.stderr.strip()[-400:]}")
            try:
                url = f"http://127.0.0.1:{ports['DEMO_MCP_HTTP_PORT']}/health"
                names = service.podman("ps", "--format", "{{.Names}}").stdout.split()
                vscode = next(n for n in names if n.endswith("-vscode"))
                deadline = time.monotonic() + 60
                while not _answers(url):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the played Pod's mcp-server never answered")
                    time.sleep(0.2)
                restart = ["restart", "-t", "1", vscode]
                return [_restart_to_answer(lambda: _run(restart, lambda cmd: service.podman(*cmd)), url)
                        for _ in range(rounds)]
            finally:
                service.podman("kube", "down", str(manifest), timeout=120)
    finally:
        service.shutdown()


def _compose(rounds: int) -> list[float | None]:
    times: list[float | None] = []
    for _ in range(rounds):  # a fresh stack each round: the stranding lasts until someone heals it
        with bench_stack("demo") as stack:
            ports = dict(line.split("=", 1) for line in (stack.dir / ".env").read_text().split())
            url = f"http://127.0.0.1:{ports['DEMO_MCP_HTTP_PORT']}/health"
            vscode = stack.container_id("vscode")
            times.append(_restart_to_answer(lambda: _run(["docker", "restart", "-t", "1", vscode]), url))
    return times


def run(quick: bool) -> list[Row]:
    rounds = 2 if quick else 5
    pod = _pod(rounds)
    compose = _compose(1 if quick else 2)
    answered = [t for t in pod if t is not None]
    ours = statistics.median(answered) if len(answered) == len(pod) else None
    theirs_answered = [t for t in compose if t is not None]
    theirs = statistics.median(theirs_answered) if theirs_answered else None
    met = ours is not None and theirs is None
    note = (f"Pod: {len(answered)}/{len(pod)} answered; Compose: "
            + (f"answered in {theirs:.2f} s" if theirs is not None else
               f"0/{len(compose)} answered within {WINDOW:.0f} s of the restart (stranded)")
            + f"; load {os.getloadavg()[0]:.1f}")
    return [Row("restart of vscode's container to mcp-server answering (Pod, Podman 4.3)", ours, "s",
                "same restart on Docker + Compose", theirs, "answers; Compose's never does", met, note)]
