"""Shared fixtures: one real engine and one demo image per run, a fresh demo stack per test.

Tests never skip for a missing engine: `make test` starts one (scripts/devengine.py)
and, when pytest is run alone, the session fixture starts it the same way.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests import usercli

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_DIR = ROOT / "compose"

_spec = importlib.util.spec_from_file_location("devengine", ROOT / "scripts" / "devengine.py")
devengine = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
sys.modules["devengine"] = devengine  # dataclasses look their module up there
_spec.loader.exec_module(devengine)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    try:
        eng = devengine.ensure()
    except devengine.EngineError as exc:
        pytest.exit(f"no Docker engine for the tests: {exc}", returncode=3)
    os.environ["DOCKER_HOST"] = eng.host
    yield eng.host
    if eng.started_here:
        devengine.stop()


@pytest.fixture(scope="session")
def demo_image(docker_host: str) -> str:
    image = devengine.image(docker_host)
    os.environ["STACKTUI_DEMO_IMAGE"] = image
    return image


@pytest.fixture(scope="session")
def engine(docker_host: str):
    from stacktui.core.engine.client import Engine

    eng = Engine.from_env()
    yield eng
    eng.close()


# Host ports for test stacks come from below the kernel's ephemeral range (32768-60999 here), a block
# of its own per xdist worker, each handed out once per run. A port the kernel picked (bind to 0)
# could be picked again by another worker while a restarting container has let go of it, and the
# restart then fails with "port is already allocated".
_PORT_BLOCK = 1000
_PORT_FIRST = 20000
_PORT_BLOCKS = 12  # 20000-31999
_ports_given: set[int] = set()


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


def free_port() -> int:
    """A port free on 127.0.0.1 right now, never handed out before in this run, from this worker's block."""
    first = _PORT_FIRST + (_worker_index() % _PORT_BLOCKS) * _PORT_BLOCK
    start = first + (os.getpid() * 7) % _PORT_BLOCK  # two runs on one machine start apart
    for i in range(_PORT_BLOCK):
        port = first + (start - first + i) % _PORT_BLOCK
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError(f"no free port left in {first}-{first + _PORT_BLOCK - 1} for this worker")


@contextlib.contextmanager
def podman_session() -> Iterator["devengine.PodmanService"]:
    """A private Podman (its own storage, config and API socket) for one module, cleaned up after."""
    service = devengine.PodmanService()
    service.start()
    try:
        yield service
    finally:
        service.shutdown()


def compose_cmd() -> list[str]:
    from stacktui.core.compose.cli import compose_command

    return list(compose_command())


@dataclass
class Stack:
    """A copy of one stack folder under tmp, with its own project name and host ports."""

    name: str
    dir: Path
    file: Path
    ports: dict[str, int] = field(default_factory=dict)

    def compose(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose_cmd(), "-f", str(self.file), *args], cwd=self.dir, check=check,
                              capture_output=True, text=True, timeout=timeout)

    def up(self, *services: str) -> None:
        done = self.compose("up", "-d", "--wait", "--wait-timeout", "60", *services, check=False)
        if done.returncode != 0:
            logs = self.compose("logs", "--no-color", "--tail", "20", check=False).stdout
            raise AssertionError(f"compose up failed: {done.stderr}\n{logs}")

    def engine_host(self) -> str:
        return os.environ.get("DOCKER_HOST", "")

    def down(self) -> None:
        """Remove the project's containers, networks and volumes by Compose's project label.

        Killed and removed over the engine's API in parallel: `compose down -t 1` waits for each
        container that ignores SIGTERM (busybox httpd as PID 1) and stops them one group at a time,
        which made teardown a large share of the suite's time. Compose's own `down` is the fallback
        when anything is left."""
        if not remove_project(self.engine_host(), self.name):
            self.compose("down", "-v", "-t", "1", "--remove-orphans", check=False)

    def stacktui(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        """The real CLI, run in the stack's folder as a user would, with `env` added to its environment."""
        # The checkout under test, with only what a user's install has beside it (tests/usercli.py).
        return subprocess.run([*usercli.STACKTUI, *args], cwd=self.dir, capture_output=True,
                              text=True, timeout=timeout, env=usercli.cli_env(**{"NO_COLOR": "1", **env}))

    def container(self, engine, service: str):
        found = [c for c in engine.project_containers(self.name) if c.service == service]
        assert found, f"no container for {service} in {self.name}"
        return found[0]


def remove_project(host: str, project: str) -> bool:
    """Force-remove everything of one Compose project on the engine at host; True when nothing is left."""
    import docker
    from concurrent.futures import ThreadPoolExecutor

    label = {"label": f"com.docker.compose.project={project}"}
    try:
        client = docker.DockerClient(base_url=host or None, timeout=60)
    except docker.errors.DockerException:
        return False
    try:
        containers = client.containers.list(all=True, filters=label, ignore_removed=True)

        def remove(container) -> None:
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass

        # Joiners first: an owner removed under a running joiner is fine for the engine, but the
        # joiner's removal then has to wait on its dead namespace.
        joiners = [c for c in containers if str(c.attrs.get("HostConfig", {}).get("NetworkMode", "")).startswith("container:")]
        others = [c for c in containers if c not in joiners]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(remove, joiners))
            list(pool.map(remove, others))
        for network in client.networks.list(filters=label):
            try:
                network.remove()
            except docker.errors.NotFound:
                pass
        for volume in client.volumes.list(filters=label):
            try:
                volume.remove(force=True)
            except docker.errors.NotFound:
                pass
        return not client.containers.list(all=True, filters=label, ignore_removed=True)
    except docker.errors.DockerException:
        return False
    finally:
        client.close()


def make_stack(tmp_path: Path, source: str, port_vars: tuple[str, ...] = ()) -> Stack:
    import shutil

    name = f"t{uuid.uuid4().hex[:8]}"
    dest = tmp_path / name
    shutil.copytree(COMPOSE_DIR / source, dest)
    ports = {var: free_port() for var in port_vars}
    env_lines = [f"COMPOSE_PROJECT_NAME={name}"] + [f"{k}={v}" for k, v in ports.items()]
    if os.environ.get("STACKTUI_DEMO_IMAGE"):
        env_lines.append(f"STACKTUI_DEMO_IMAGE={os.environ['STACKTUI_DEMO_IMAGE']}")
    (dest / ".env").write_text("\n".join(env_lines) + "\n")
    file = next(p for p in (dest / n for n in ("compose.yaml", "docker-compose.yml")) if p.exists())
    return Stack(name=name, dir=dest, file=file, ports=ports)


DEMO_PORTS = ("DEMO_VSCODE_PORT", "DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT")
CHAIN_PORTS = ("CHAIN_GATEWAY_PORT", "CHAIN_API_PORT", "CHAIN_WORKER_PORT")


def running_stack(tmp_path: Path, source: str, port_vars: tuple[str, ...]) -> Iterator[Stack]:
    stack = make_stack(tmp_path, source, port_vars)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture
def demo_stack(tmp_path: Path, demo_image: str) -> Iterator[Stack]:
    """The demo stack, up and healthy, in a private copy; torn down afterwards."""
    yield from running_stack(tmp_path, "demo", DEMO_PORTS)


@pytest.fixture
def chain_stack(tmp_path: Path, demo_image: str) -> Iterator[Stack]:
    """compose/chain (gateway <- api <- worker, plus client), up and healthy; torn down afterwards."""
    yield from running_stack(tmp_path, "chain", CHAIN_PORTS)


@pytest.fixture
def stack_factory(tmp_path: Path, demo_image: str) -> Iterator:
    """Make (and clean up) copies of any folder under compose/, not started."""
    made: list[Stack] = []

    def factory(source: str, port_vars: tuple[str, ...] = ()) -> Stack:
        stack = make_stack(tmp_path, source, port_vars)
        made.append(stack)
        return stack

    yield factory
    for stack in made:
        stack.down()


# --- restart (issue 4): stacks written by a test module, and one demo stack shared by a module ----------

@pytest.fixture(scope="module")
def text_stack(tmp_path_factory: pytest.TempPathFactory, demo_image: str) -> Iterator:
    """Write a compose file given as text into a fresh folder (own project name and ports), not started;
    every stack made is taken down after the module."""
    made: list[Stack] = []

    def factory(text: str, port_vars: tuple[str, ...] = ()) -> Stack:
        name = f"t{uuid.uuid4().hex[:8]}"
        dest = tmp_path_factory.mktemp("stack") / name
        dest.mkdir()
        ports = {var: free_port() for var in port_vars}
        env = [f"COMPOSE_PROJECT_NAME={name}", f"STACKTUI_DEMO_IMAGE={demo_image}"]
        (dest / ".env").write_text("\n".join(env + [f"{k}={v}" for k, v in ports.items()]) + "\n")
        file = dest / "compose.yaml"
        file.write_text(text)
        stack = Stack(name=name, dir=dest, file=file, ports=ports)
        made.append(stack)
        return stack

    yield factory
    for stack in made:
        stack.down()


@pytest.fixture(scope="module")
def module_demo_stack(tmp_path_factory: pytest.TempPathFactory, demo_image: str) -> Iterator[Stack]:
    """One demo stack for a whole test module (each test leaves it healthy); torn down after the module."""
    stack = make_stack(tmp_path_factory.mktemp("demo"), "demo", DEMO_PORTS)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


# Fixtures that start a private daemon: every test that reaches one runs on the same xdist worker,
# so each daemon is started once per run and never beside a second copy of itself.
DAEMON_GROUPS = {
    "fault_engine": "faults",
    "tls_engine": "tls",
    "podman": "podman",
    "ssh_env": "ssh",
}


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def _parallel(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and getattr(config.option, "dist", "no") != "no"


_RUN_STATE: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine: needs the real Docker engine (set on every test that reaches "
                                       "the docker_host fixture); `make test-fast` runs the others")
    config.addinivalue_line("markers", "xdist_group(name): tests that share a private daemon run in one worker")
    config.addinivalue_line("markers", "slow: needs no engine but takes tens of seconds; left out of `make test-fast`")
    if not _is_controller(config):
        # Project locks live in the runtime folder: a worker's own, so two workers' copies of one
        # fixed-name project (compose/agentdb9 copied as it is) do not wait on each other's lock.
        runtime = Path(os.environ["XDG_STATE_HOME"]).parent / f"runtime-{config.workerinput['workerid']}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        return
    # One set of user folders per run: a developer's own config.toml, compose cache or history
    # never reaches a test, and parallel workers share them only within this run.
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="stacktui-run-"))
    _RUN_STATE["base"] = base
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"),
                     ("XDG_RUNTIME_DIR", "runtime")):
        (base / sub).mkdir(mode=0o700)
        os.environ[var] = str(base / sub)
    os.environ[usercli.RUNTIME_VAR] = str(usercli.lay_out(base / "cli-runtime"))
    # Under xdist the controller starts the shared engine once, before any worker exists (workers
    # inherit DOCKER_HOST), and stops it once at the end; a worker never starts or stops it.
    if _parallel(config) and "not engine" not in (config.option.markexpr or ""):
        try:
            eng = devengine.ensure()
        except devengine.EngineError as exc:
            pytest.exit(f"no Docker engine for the tests: {exc}", returncode=3)
        os.environ["DOCKER_HOST"] = eng.host
        os.environ["STACKTUI_DEMO_IMAGE"] = devengine.image(eng.host)
        _RUN_STATE["engine"] = eng


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _is_controller(config):
        return
    eng = _RUN_STATE.pop("engine", None)
    if eng is not None and getattr(eng, "started_here", False):
        devengine.stop()
    base = _RUN_STATE.pop("base", None)
    if isinstance(base, Path):
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def _module_scoped(item: pytest.Item) -> bool:
    """True when the test uses a fixture set up once per module: its module then runs on one worker,
    so the module's stack is made once, not once per worker."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


def _module_group(item: pytest.Item) -> str | None:
    """The module's group; a module whose module-scoped fixture makes one stack per value of a parameter
    names it in `GROUP_BY`, and each value is a group of its own: the stacks are made on separate workers
    at once instead of one after another on one."""
    module = getattr(item, "module", None)
    if module is None:
        return None
    param = getattr(module, "GROUP_BY", None)
    callspec = getattr(item, "callspec", None)
    if param and callspec is not None and param in callspec.params:
        return f"{module.__name__}[{callspec.params[param]}]"
    return str(module.__name__)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (loadgroup) into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Marked from the fixture closure, so a new test that needs the engine (or a private daemon)
    # cannot be left out of its marker or its group.
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "docker_host" in names:
            item.add_marker(pytest.mark.engine)
        if item.get_closest_marker("xdist_group"):
            continue
        group = next((g for fixture, g in DAEMON_GROUPS.items() if fixture in names), None)
        if group is None and _module_scoped(item):
            group = _module_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(name=group))
    _groups_first(items)


def _group_of(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.kwargs.get("name") or (mark.args[0] if mark.args else "default"))


def _groups_first(items: list[pytest.Item]) -> None:
    """The groups first, the largest first, then the single tests that use the engine, then those
    that do not: a group runs on one worker, and one handed out near the end would alone be the
    run's tail while the other workers wait. The tests without the engine take milliseconds each,
    so they even out the end. Each group keeps its tests together and in their order, so its
    module stack is made once."""
    groups = [_group_of(item) for item in items]
    engine = [item.get_closest_marker("engine") is not None for item in items]
    sizes = Counter(g for g in groups if g is not None)
    first: dict[str, int] = {}
    for i, g in enumerate(groups):
        if g is not None:
            first.setdefault(g, i)

    def key(i: int) -> tuple[int, int, int, int]:
        g = groups[i]
        return (1, 0 if engine[i] else 1, 0, i) if g is None else (0, -sizes[g], first[g], i)

    items[:] = [items[i] for i in sorted(range(len(items)), key=key)]
