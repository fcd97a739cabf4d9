"""`stacktui layout ...` as a user runs it, on copies of compose/agentdb9 (never started): files only.

The command runs in this process (stacktui.cli.main, as `python -m stacktui` does) to keep
these tests fast; tests/test_layout_apply.py runs the real `python -m stacktui` on running stacks.
"""
from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

from stacktui.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def agentdb9(tmp_path: Path) -> Path:
    dest = tmp_path / "agentdb9"
    shutil.copytree(ROOT / "compose" / "agentdb9", dest)
    return dest


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def stacktui(monkeypatch, capsys):
    """Run the CLI in a folder, with standard input that is not a terminal (as under CI)."""
    def run(folder: Path, *args: str) -> Run:
        monkeypatch.chdir(folder)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, whatever runs pytest
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run


def test_show_tells_who_shares_what_with_which_ports(stacktui, agentdb9):
    done = stacktui(agentdb9, "layout", "show")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "project agentdb9",
        "  vscode: owns a network namespace shared with mcp-server, ipc shareable",
        "    mcp-server joins network of vscode, ipc of vscode; listens on 9001, 9002",
        "    port 8080->8080/tcp -> vscode",
        "    port 9001->9001/tcp -> mcp-server",
        "    port 9002->9002/tcp -> mcp-server",
        "  backend: own namespaces; publishes 8000->8000/tcp",
    ]


def test_dry_run_prints_the_diff_and_writes_nothing(stacktui, agentdb9):
    file = agentdb9 / "docker-compose.yml"
    before = file.read_bytes()
    done = stacktui(agentdb9, "layout", "separate", "mcp-server", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "-      - MCP_SERVER_URL=http://vscode:9001\n+      - MCP_SERVER_URL=http://mcp-server:9001" in done.stdout
    assert "dry run: separate mcp-server from vscode (ports 9001, 9002); nothing written" in done.stdout
    assert file.read_bytes() == before
    assert not (agentdb9 / ".stacktui").exists()


def test_without_a_terminal_it_asks_for_yes(stacktui, agentdb9):
    file = agentdb9 / "docker-compose.yml"
    before = file.read_bytes()
    done = stacktui(agentdb9, "layout", "separate", "mcp-server", "--no-up")
    assert done.returncode == 2
    assert "standard input is not a terminal" in done.stderr and "pass --yes" in done.stderr
    assert file.read_bytes() == before


def test_no_up_writes_the_file_history_lists_it_undo_restores_it(stacktui, agentdb9):
    file = agentdb9 / "docker-compose.yml"
    original = file.read_bytes()
    done = stacktui(agentdb9, "layout", "separate", "mcp-server", "--no-up", "--yes")
    assert done.returncode == 0, done.stderr
    assert file.read_text() == (GOLDEN / "agentdb9-separate-mcp-server.yml").read_text()
    assert "done: separate mcp-server from vscode (ports 9001, 9002) (history #1)" in done.stdout

    done = stacktui(agentdb9, "layout", "undo", "--no-up", "--yes")
    assert done.returncode == 0, done.stderr
    assert file.read_bytes() == original

    done = stacktui(agentdb9, "layout", "history")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert len(rows) == 2
    assert rows[0].startswith("#1 ") and "separate  docker-compose.yml  separate mcp-server from vscode" in rows[0]
    assert rows[1].startswith("#2 ") and "undo      docker-compose.yml  undo #1 (separate mcp-server" in rows[1]


def test_shared_back_with_the_cli_is_the_original_less_the_notes_separate_made_false(stacktui, agentdb9):
    file = agentdb9 / "docker-compose.yml"
    original = file.read_text()
    assert stacktui(agentdb9, "layout", "separate", "mcp-server", "--no-up", "--yes").returncode == 0
    separated = file.read_bytes()
    done = stacktui(agentdb9, "layout", "shared", "mcp-server", "--with", "vscode", "--no-up", "--yes")
    assert done.returncode == 0, done.stderr
    assert file.read_text() == original.replace(" (shared namespace)", "").replace(
        "    # Ports exposed through vscode service\n", "")
    # undo, not shared, is the way back byte for byte.
    assert stacktui(agentdb9, "layout", "undo", "--no-up", "--yes").returncode == 0
    assert file.read_bytes() == separated


def test_unknown_ports_exit_2_naming_the_candidates(stacktui, agentdb9):
    file = agentdb9 / "docker-compose.yml"
    file.write_text(file.read_text().replace("      listens: [9001, 9002]\n", ""))
    done = stacktui(agentdb9, "layout", "separate", "mcp-server", "--dry-run")
    assert done.returncode == 2
    assert "cannot tell which ports mcp-server listens on; vscode publishes 9001, 9002" in done.stderr
    assert "--ports 9001,9002" in done.stderr
    assert f"{file}:19: " in done.stderr

    done = stacktui(agentdb9, "layout", "separate", "mcp-server", "--ports", "9001,9002", "--dry-run")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args,message", [
    (("layout", "separate", "nope", "--dry-run"), "unknown service 'nope'"),
    (("layout", "shared", "mcp-server", "--with", "vscode", "--dry-run"), "already shares vscode's network"),
    (("layout", "separate", "mcp-server", "--ports", "9001,x"), "not a list of ports"),
    (("layout", "shared", "backend"), "--with"),
    (("layout", "undo", "--dry-run"), "no layout change to undo"),
])
def test_bad_requests_exit_2_with_one_message(stacktui, agentdb9, args, message):
    before = (agentdb9 / "docker-compose.yml").read_bytes()
    done = stacktui(agentdb9, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert (agentdb9 / "docker-compose.yml").read_bytes() == before


def answer_prompt(folder: Path, answer: bytes, *args: str) -> tuple[int, str]:
    """Run the real command on a terminal and answer its question."""
    import os
    import pty
    import sys

    env = cli_env(NO_COLOR="1")
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.chdir(folder)
        os.execve(sys.executable, [*STACKTUI, *args], env)
    out, sent = b"", False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        out += chunk
        if b"[y/N]" in out and not sent:
            os.write(fd, answer)
            sent = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


@pytest.mark.parametrize("answer,code,written", [(b"n\n", 1, False), (b"y\n", 0, True)])
def test_on_a_terminal_it_asks_first(agentdb9, answer, code, written):
    file = agentdb9 / "docker-compose.yml"
    before = file.read_bytes()
    rc, out = answer_prompt(agentdb9, answer, "layout", "separate", "mcp-server", "--no-up")
    assert "separate mcp-server from vscode (ports 9001, 9002): apply? [y/N]" in out
    assert rc == code, out
    assert (file.read_bytes() != before) is written
    assert ("nothing changed" in out) is not written


def test_show_and_history_as_json(stacktui, agentdb9):
    import hashlib
    import json

    done = stacktui(agentdb9, "layout", "show", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"project": "agentdb9", "namespaces": [
        {"owner": "vscode", "ipc": "shareable", "listens": [8080],
         "members": [{"service": "mcp-server", "joins": {"network_mode": "vscode", "ipc": "vscode"},
                      "listens": [9001, 9002]}],
         "ports": [{"port": "8080->8080/tcp", "service": "vscode"}, {"port": "9001->9001/tcp", "service": "mcp-server"},
                   {"port": "9002->9002/tcp", "service": "mcp-server"}]},
        {"owner": "backend", "ipc": None, "listens": [], "members": [],
         "ports": [{"port": "8000->8000/tcp", "service": None}]}]}

    done = stacktui(agentdb9, "layout", "history", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == []
    file = agentdb9 / "docker-compose.yml"
    before = file.read_bytes()
    assert stacktui(agentdb9, "layout", "separate", "mcp-server", "--no-up", "--yes").returncode == 0
    done = stacktui(agentdb9, "layout", "history", "--json")
    assert done.returncode == 0, done.stderr
    [entry] = json.loads(done.stdout)
    assert entry["time"].endswith("+00:00")
    assert {k: v for k, v in entry.items() if k != "time"} == {
        "id": 1, "file": "docker-compose.yml", "folder": str(agentdb9), "kind": "separate",
        "reason": "separate mcp-server from vscode (ports 9001, 9002)",
        "before": hashlib.sha256(before).hexdigest(), "after": hashlib.sha256(file.read_bytes()).hexdigest(),
        "undoes": None, "rolled_back": False}


PROFILED = """\
name: pe
services:
  owner:
    image: busybox
    ports:
      - "127.0.0.1:${OWNER_PORT:-1000}:80"
  debugger:
    image: busybox
    profiles: [debug]
    network_mode: "service:owner"
"""


def test_env_file_and_profile_reach_compose(stacktui, tmp_path):
    import json

    (tmp_path / "compose.yaml").write_text(PROFILED)
    (tmp_path / ".env").write_text("OWNER_PORT=1111\n")
    (tmp_path / "alt.env").write_text("OWNER_PORT=2222\n")

    def group(*opts: str) -> dict:
        done = stacktui(tmp_path, *opts, "layout", "show", "--json")
        assert done.returncode == 0, done.stderr
        [only] = json.loads(done.stdout)["namespaces"]
        return only

    plain = group()
    assert plain["members"] == [] and plain["ports"] == [{"port": "127.0.0.1:1111->80/tcp", "service": None}]
    both = group("--env-file", "alt.env", "--profile", "debug")
    assert both["members"] == [{"service": "debugger", "joins": {"network_mode": "owner"}, "listens": []}]
    assert both["ports"] == [{"port": "127.0.0.1:2222->80/tcp", "service": None}]
