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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

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


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the kernel picks it, so parallel runs rarely collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

    def down(self) -> None:
        self.compose("down", "-v", "-t", "1", "--remove-orphans", check=False)

    def stacktui(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The real CLI, run in the stack's folder as a user would."""
        # PYTHONPATH: the checkout under test, not whatever copy is installed in the venv.
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "stacktui", *args], cwd=self.dir, capture_output=True,
                              text=True, timeout=timeout, env=env)

    def container(self, engine, service: str):
        found = [c for c in engine.project_containers(self.name) if c.service == service]
        assert found, f"no container for {service} in {self.name}"
        return found[0]


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine: needs the real Docker engine (set on every test that reaches "
                                       "the docker_host fixture); `make test-fast` runs the others")
    config.addinivalue_line("markers", "xdist_group(name): tests that share a private daemon run in one worker")
    config.addinivalue_line("markers", "slow: needs no engine but takes tens of seconds; left out of `make test-fast`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Marked from the fixture closure, so a new test that needs the engine cannot be left out of it.
    for item in items:
        if "docker_host" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
