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
import statistics
import subprocess
import sys
import tempfile
import time
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
    return _local_rows(quick) + _tls_rows(quick) + _ssh_rows(quick)


def _ssh_rows(quick: bool) -> list[Row]:
    """The listing over ssh:// (a private sshd on 127.0.0.1, scripts/devengine.py) against the unix socket."""
    import importlib.util
    import socket

    spec = importlib.util.spec_from_file_location("devengine", ROOT / "scripts" / "devengine.py")
    devengine = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault("devengine", devengine)
    spec.loader.exec_module(devengine)
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve
    from stacktui.core.ops.projects import list_projects

    devengine.ensure_tools()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="stkbench-ssh-"))
    host = os.environ["DOCKER_HOST"]
    sshd = devengine.PrivateSSHD(tmp, host, port).start()
    path = os.environ["PATH"]
    try:
        os.environ["PATH"] = sshd.env()["PATH"]  # the wrapper with the bench's own client config
        t0 = time.perf_counter()
        over_ssh = Engine.connect(resolve(None, {"DOCKER_HOST": sshd.host}))
        connect = time.perf_counter() - t0
        local = Engine.connect(resolve(None, {"DOCKER_HOST": host}))
        count = len(local.containers())
        list_projects(over_ssh, "ssh")  # the first call opens the pooled sessions
        repeat = 3 if quick else 5
        t_ssh = median_time(lambda: list_projects(over_ssh, "ssh"), repeat)
        t_unix = median_time(lambda: list_projects(local, "unix"), repeat)
        over_ssh.close()
        local.close()
    finally:
        os.environ["PATH"] = path
        sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [Row(name=f"projects listing over ssh:// (SDK through the proxy socket), {count} containers",
                value=t_ssh, unit="s", reference_name="the same engine's unix socket (raw)", reference=t_unix,
                target="-", met=None,
                note=f"private sshd on 127.0.0.1; connect and first ping {connect:.2f} s (ssh handshake and "
                     f"`docker system dial-stdio` there); medians of {repeat} after the first listing")]


def _local_rows(quick: bool) -> list[Row]:
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
        screen = _screen(folders, quick)
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
    return _screen_rows(screen, containers, quick) + [
        Row(name=f"`stacktui projects --json`, {pairs} pairs + backend ({containers} containers)", value=cli,
            unit="s", reference_name="`docker compose ls --all --format json`", reference=ls,
            target=f"< {TARGET_S:g} s", met=cli < TARGET_S and right,
            note=f"whole process (Python start-up included); medians of {repeat}; after a raw restart of one "
                 f"owner the listing named {'only that pair' if right else stale} stale"),
        Row(name=f"projects listing in-process, {containers} containers (what the projects screen calls)",
            value=inproc, unit="s", reference_name="`docker compose ls --all --format json`", reference=ls,
            target=f"< {TARGET_S:g} s", met=inproc < TARGET_S, note=f"one list + {containers} inspects; medians of {repeat}"),
    ]


def _screen(folders: list[Path], quick: bool) -> dict:
    """The projects screen headless in a child process (bench/headless_projects.py), on these projects."""
    import json

    victim = folders[0]
    owner = _compose(victim, "ps", "-q", "vscode").stdout.split()[0]
    total = len(subprocess.run(["docker", "ps", "-a", "--format", "{{.Label \"com.docker.compose.project\"}}"],
                               capture_output=True, text=True, timeout=60).stdout.split("\n")) - 1
    projects = len({ln for ln in subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Label \"com.docker.compose.project\"}}"],
        capture_output=True, text=True, timeout=60).stdout.splitlines() if ln})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.headless_projects", "--expect", str(projects),
                           "--pause", owner, "--project", victim.name, "--cycles", "10" if quick else "20",
                           "--idle", "5" if quick else "15", "--switches", "3" if quick else "7"],
                          capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir(), env=env)
    if done.returncode != 0:
        raise RuntimeError(f"headless projects screen failed: {done.stderr.strip()[-800:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["engine_containers"] = total
    # Start-up in one project's folder, as `stacktui` there, against `docker compose ps` there (alternating).
    repeat = 3 if quick else 5
    ours, ps = [], []
    for _ in range(repeat):
        one = subprocess.run([sys.executable, "-m", "bench.headless_projects", "--startup"], capture_output=True,
                             text=True, timeout=120, cwd=victim, env=env)
        if one.returncode != 0:
            raise RuntimeError(f"headless start-up in {victim.name} failed: {one.stderr.strip()[-800:]}")
        ours.append(json.loads(one.stdout.strip().splitlines()[-1]))
        t0 = time.perf_counter()
        _compose(victim, "ps", "--all", "--format", "json")
        ps.append(time.perf_counter() - t0)
    result["project_startup_s"] = statistics.median(o["startup_s"] for o in ours)
    result["project_services"] = ours[0]["services"]
    result["project_app_errors"] = sorted({o["app_error"] for o in ours if "app_error" in o})
    result["compose_ps_s"] = statistics.median(ps)
    return result


def _screen_rows(screen: dict, containers: int, quick: bool) -> list[Row]:
    from bench.harness import percentile

    delays = [d * 1000 for d in screen["event_delays_s"]]
    p95 = percentile(delays, 95)
    switch, back = statistics.median(screen["switch_s"]), statistics.median(screen["back_s"])
    return [
        Row(name=f"TUI start-up to the projects screen, {containers} containers of ours "
                 f"({screen['engine_containers']} on the engine)", value=screen["startup_s"], unit="s",
            reference_name="-", reference=None, target="< 1.0 s", met=screen["startup_s"] < 1.0,
            note=f"headless, from the process's creation (interpreter {screen['import_offset_s']:.2f} s) to the "
                 f"first frame displayed with every row ({screen['rows']} projects)"),
        Row(name="event to projects-screen update (pause/unpause of an owner), p95", value=p95, unit="ms",
            reference_name="median", reference=percentile(delays, 50), target="p95 < 150 ms", met=p95 < 150,
            note=f"{len(delays)} changes; from the API call to the first frame displayed with the row's new "
                 "running count (textual's display hook)"),
        Row(name=f"TUI start-up to one project's populated table, {containers} containers of ours on the engine",
            value=screen["project_startup_s"], unit="s", reference_name="`docker compose ps --all` in that folder",
            reference=screen["compose_ps_s"], target="< 1.0 s", met=screen["project_startup_s"] < 1.0,
            note=f"headless, in the project's folder, from the process's creation to the first frame with its "
                 f"{screen['project_services']} services' rows; medians, runs alternating with the reference"
                 + (f"; closing right after, the app raised {'; '.join(screen['project_app_errors'])}"
                    if screen.get("project_app_errors") else "")),
        Row(name="switching: Enter on a project to its table with every service", value=switch, unit="s",
            reference_name="`p` back to the projects screen", reference=back, target="< 0.3 s", met=switch < 0.3,
            note=f"headless, one app: median of {len(screen['switch_s'])} switches (max {max(screen['switch_s']):.3f} s); "
                 "the project's files through Compose's config and its first listing, on the engine already "
                 "connected; its followers stopped on `p`"),
        Row(name="idle CPU, projects screen open", value=screen["idle_cpu_pct"], unit="% of a core",
            reference_name="-", reference=None, target="< 1%", met=screen["idle_cpu_pct"] < 1.0,
            note=f"headless; nothing polls: {screen['idle_listings']} listings in the window, each after events "
                 "of another project on the shared engine"),
    ]


def _tls_rows(quick: bool) -> list[Row]:
    """The listing and event delivery over TCP+TLS against the same engine's unix socket.

    A private engine listening on both (scripts/devengine.py `tls_engine`); it uses the fault
    engine's bridge, so this takes the faults lock for its whole run.
    """
    import fcntl
    import importlib.util
    import socket
    import threading

    spec = importlib.util.spec_from_file_location("devengine", ROOT / "scripts" / "devengine.py")
    devengine = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault("devengine", devengine)
    spec.loader.exec_module(devengine)
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve
    from stacktui.core.ops.projects import list_projects

    pairs = 5 if quick else 10
    tmp = Path(tempfile.mkdtemp(prefix="stkbench-tls-"))
    with open("/tmp/stacktui-faults.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        certs = devengine.make_certs(tmp / "certs")
        private = devengine.tls_engine(certs, port)
        private.start()
        try:
            devengine.image(private.host)
            tls_env = {"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
            folders = []
            for i in range(pairs):
                folder = tmp / f"stkbt{i:02d}"
                folder.mkdir()
                (folder / "compose.yaml").write_text(PAIR.format(image=IMAGE))
                folders.append(folder)
                done = subprocess.run([*compose_cmd(), "up", "-d"], cwd=folder, capture_output=True, text=True,
                                      timeout=300, env={**os.environ, **tls_env, "STACKTUI_DEMO_IMAGE": IMAGE})
                if done.returncode != 0:
                    raise RuntimeError(f"compose up on the TLS engine failed: {done.stderr.strip()[-400:]}")
            over_tls = Engine.connect(resolve(None, tls_env))
            over_unix = Engine.connect(resolve(None, {"DOCKER_HOST": private.host}))
            repeat = 3 if quick else 5
            t_tls = median_time(lambda: list_projects(over_tls, "tls"), repeat)
            t_unix = median_time(lambda: list_projects(over_unix, "unix"), repeat)
            # Event delivery: both streams open at once; each event's arrival after the call that caused it.
            arrivals: dict[str, dict[str, float]] = {"tls": {}, "unix": {}}
            streams = {"tls": over_tls.events(actions=["pause", "unpause"]),
                       "unix": over_unix.events(actions=["pause", "unpause"])}

            def read(kind: str) -> None:
                for event in streams[kind]:
                    arrivals[kind][f"{event.get('Action')}:{event.get('timeNano')}"] = time.perf_counter()

            readers = [threading.Thread(target=read, args=(k,), daemon=True) for k in streams]
            for t in readers:
                t.start()
            time.sleep(0.5)
            target = over_unix.project_containers(folders[0].name)[0].id
            sent: list[float] = []
            for _ in range(10 if quick else 20):
                for action in (over_unix.api.pause, over_unix.api.unpause):
                    sent.append(time.perf_counter())
                    action(target)
                    time.sleep(0.1)
            time.sleep(1.0)
            for stream in streams.values():
                stream.close()
            lag = {k: sorted(v.values()) for k, v in arrivals.items()}
            if not (len(lag["tls"]) == len(lag["unix"]) == len(sent)):
                raise RuntimeError(f"events lost: sent {len(sent)}, got {len(lag['tls'])} over TLS, "
                                   f"{len(lag['unix'])} over unix")
            tls_ms = statistics.median(1000 * (a - b) for a, b in zip(lag["tls"], sent))
            unix_ms = statistics.median(1000 * (a - b) for a, b in zip(lag["unix"], sent))
            over_tls.close()
            over_unix.close()
        finally:
            local = {**os.environ, "DOCKER_HOST": private.host}
            left = subprocess.run(["docker", "ps", "-aq"], env=local, capture_output=True, text=True,
                                  timeout=30).stdout.split()
            if left:
                subprocess.run(["docker", "rm", "-f", *left], env=local, capture_output=True, timeout=120)
            private.stop()
            shutil.rmtree(private.run_dir, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
    containers = 2 * pairs
    return [
        Row(name=f"projects listing over TCP+TLS (SDK), {containers} containers", value=t_tls, unit="s",
            reference_name="the same engine's unix socket (raw)", reference=t_unix, target="-", met=None,
            note=f"one private engine listening on both; medians of {repeat}"),
        Row(name="event delivery over TCP+TLS (SDK), pause/unpause", value=tls_ms, unit="ms",
            reference_name="the same events over the unix socket (raw)", reference=unix_ms, target="-", met=None,
            note=f"median lag from the API call to the event in each stream, {len(sent)} events"),
    ]
