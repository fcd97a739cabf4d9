#!/usr/bin/env python3
"""A real Docker engine and the offline demo image, for tests and the demo.

Standard library only: it runs before the project's virtualenv exists.

    devengine.py ensure        reuse a running engine, or start a private one;
                               prints `export DOCKER_HOST=...`
    devengine.py image         build the demo image if it is missing
    devengine.py stop          stop the private engine, only if this project started it
    devengine.py run -- CMD    ensure + image, run CMD with DOCKER_HOST set, then stop
                               the engine again if this call started it

A private engine keeps all its state in the project's .cache/engine folder (the
socket falls back to /tmp when that path is too long for a unix socket).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "engine"
VERSION = "0.1.0"
DEMO_IMAGE = f"stacktui-demo:{VERSION}"
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin


class EngineError(RuntimeError):
    """A missing piece, with the fix in the message."""


@dataclass
class Engine:
    host: str
    started_here: bool
    pidfile: Path | None = None


def _run_dir() -> Path:
    sock = CACHE / "docker.sock"
    if len(str(sock)) <= SOCKET_PATH_MAX:
        return CACHE
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"stk-{digest}"


def _docker_cli() -> str:
    cli = shutil.which("docker")
    if not cli:
        raise EngineError(
            "the docker CLI is missing: install Debian's docker.io (apt-get install docker.io) "
            "or Docker Engine from docs.docker.com"
        )
    return cli


def answers(host: str | None) -> bool:
    env = dict(os.environ)
    if host:
        env["DOCKER_HOST"] = host
    else:
        env.pop("DOCKER_HOST", None)
    try:
        done = subprocess.run(
            [_docker_cli(), "info", "--format", "{{.ServerVersion}}"],
            env=env, capture_output=True, timeout=15,
        )
    except (subprocess.TimeoutExpired, OSError):
        return False
    return done.returncode == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _install_dockerd() -> None:
    if platform.system() != "Linux" or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineError(
            "no Docker engine answers and dockerd is not installed. Start Docker (Docker Desktop, "
            "or `sudo systemctl start docker`), or set DOCKER_HOST to a running engine; on Debian "
            "as root, `apt-get install docker.io` lets stacktui start a private one."
        )
    print("devengine: installing Debian's docker.io and busybox-static", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "docker.io", "busybox-static"],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def ensure() -> Engine:
    """An engine that answers: DOCKER_HOST's, the default socket's, or our own."""
    given = os.environ.get("DOCKER_HOST")
    run_dir = _run_dir()
    own_host = f"unix://{run_dir / 'docker.sock'}"
    if given and given != own_host:
        if answers(given):
            return Engine(given, started_here=False)
        raise EngineError(f"DOCKER_HOST={given} does not answer `docker info`; unset it or start that engine")
    pidfile = run_dir / "docker.pid"
    pid = _read_pid(pidfile)
    if pid and _pid_alive(pid) and answers(own_host):
        return Engine(own_host, started_here=False, pidfile=pidfile)
    if not given and answers(None):
        return Engine("unix:///var/run/docker.sock", started_here=False)
    return _start_private(run_dir, pidfile)


def _start_private(run_dir: Path, pidfile: Path) -> Engine:
    if not shutil.which("dockerd"):
        _install_dockerd()
    if platform.system() != "Linux" or os.geteuid() != 0:
        raise EngineError("a private dockerd needs Linux and root; start Docker yourself and set DOCKER_HOST")
    run_dir.mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    # A dockerd killed with SIGKILL leaves its pid file, and the next start refuses to run.
    pid = _read_pid(pidfile)
    if pid is not None and not _pid_alive(pid):
        pidfile.unlink(missing_ok=True)
    sock = run_dir / "docker.sock"
    host = f"unix://{sock}"
    log = open(CACHE / "dockerd.log", "ab")
    cmd = [
        "dockerd",
        "--data-root", str(CACHE / "data"),
        "--exec-root", str(run_dir / "exec"),
        "-H", host,
        "--pidfile", str(pidfile),
        "--log-level", "warn",
    ]
    subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if answers(host):
            (CACHE / "started-by-devengine").write_text(host)
            print(f"devengine: started a private dockerd at {host}", file=sys.stderr)
            return Engine(host, started_here=True, pidfile=pidfile)
        time.sleep(0.3)
    raise EngineError(f"dockerd did not answer within 60 s; see {CACHE / 'dockerd.log'}")


def stop() -> None:
    """Stop the private engine, only if devengine started it."""
    marker = CACHE / "started-by-devengine"
    pidfile = _run_dir() / "docker.pid"
    if not marker.exists():
        return
    pid = _read_pid(pidfile)
    if pid and _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)


def _busybox() -> Path:
    found = shutil.which("busybox")
    if found:
        # The static build is required: the image has no libc.
        out = subprocess.run(["file", "-L", found], capture_output=True, text=True).stdout if shutil.which("file") else ""
        if "dynamically" not in out:
            return Path(found)
    static = Path("/bin/busybox")
    if static.exists():
        return static
    if platform.system() == "Linux" and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "busybox-static"], check=True,
                       stdout=subprocess.DEVNULL)
        return Path("/bin/busybox")
    raise EngineError("a static busybox is needed to build the demo image: apt-get install busybox-static")


def image(host: str) -> str:
    """Build the demo image offline (FROM scratch + static busybox) unless it exists."""
    env = dict(os.environ, DOCKER_HOST=host, DOCKER_BUILDKIT="0")
    cli = _docker_cli()
    have = subprocess.run([cli, "image", "inspect", DEMO_IMAGE], env=env, capture_output=True)
    if have.returncode == 0:
        return DEMO_IMAGE
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy2(_busybox(), Path(ctx) / "busybox")
        (Path(ctx) / "Dockerfile").write_text(
            "FROM scratch\n"
            "COPY busybox /bin/busybox\n"
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
            f'LABEL org.opencontainers.image.title="stacktui demo" org.opencontainers.image.version="{VERSION}"\n'
        )
        subprocess.run([cli, "build", "-q", "-t", DEMO_IMAGE, ctx], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    print(f"devengine: built {DEMO_IMAGE}", file=sys.stderr)
    return DEMO_IMAGE


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    verb, rest = argv[0], argv[1:]
    try:
        if verb == "ensure":
            engine = ensure()
            print(f"export DOCKER_HOST={engine.host}")
            return 0
        if verb == "image":
            engine = ensure()
            print(image(engine.host))
            return 0
        if verb == "stop":
            stop()
            return 0
        if verb == "status":
            print(json.dumps({"run_dir": str(_run_dir()), "own": answers(f"unix://{_run_dir() / 'docker.sock'}")}))
            return 0
        if verb == "run":
            if rest[:1] == ["--"]:
                rest = rest[1:]
            engine = ensure()
            image(engine.host)
            env = dict(os.environ, DOCKER_HOST=engine.host, STACKTUI_DEMO_IMAGE=DEMO_IMAGE)
            try:
                return subprocess.call(rest, env=env)
            finally:
                if engine.started_here:
                    stop()
    except EngineError as exc:
        print(f"devengine: {exc}", file=sys.stderr)
        return 3
    except subprocess.CalledProcessError as exc:
        print(f"devengine: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}", file=sys.stderr)
        return 3
    print(f"devengine: unknown verb {verb!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
