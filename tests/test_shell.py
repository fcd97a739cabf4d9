"""`stacktui shell SERVICE` (the TUI's `e` runs the same command): a shell in the running container,
bash when the image has one, else sh; a joiner's shell says whose namespaces it is in; a stopped
service is one clear line, not a hang. Input comes from a pipe here (no TTY: `docker exec -i`)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from tests.usercli import STACKTUI, cli_env

ROOT = Path(__file__).resolve().parent.parent


def shell(stack, service: str, script: str) -> subprocess.CompletedProcess[str]:
    env = cli_env()
    return subprocess.run([*STACKTUI, "shell", service], cwd=stack.dir, input=script,
                          capture_output=True, text=True, timeout=60, env=env)


def test_a_joiners_shell_runs_in_its_container_and_says_whose_namespaces(module_demo_stack, engine):
    stack = module_demo_stack
    done = shell(stack, "mcp-server", "echo \"answer-$((6*7))\" \"$0\"; cat /proc/1/cmdline | tr '\\0' ' '; exit 3\n")
    assert done.returncode == 3, done.stderr
    name = stack.container(engine, "mcp-server").name
    assert done.stderr == (f"stacktui: sh in mcp-server ({name}), in vscode's network and IPC namespaces; "
                           "`exit` returns to stacktui\n")
    out = done.stdout.splitlines()
    assert out[0] == "answer-42 sh"
    assert "/scripts/mcp-server.sh" in out[1]  # PID 1 of the container the shell is in: mcp-server's own


def test_bash_is_taken_when_the_image_has_it(module_demo_stack, engine):
    stack = module_demo_stack
    backend = stack.container(engine, "backend")
    # busybox has no bash: a stand-in that says it was the one run
    code, out = engine.exec(backend.id, ["sh", "-c", "printf '#!/bin/sh\\necho bash-ran\\nexec sh\\n' > /bin/bash"
                                         " && chmod +x /bin/bash"])
    assert code == 0, out
    done = shell(stack, "backend", "echo after\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"stacktui: bash in backend ({backend.name}); `exit` returns to stacktui\n"
    assert done.stdout == "bash-ran\nafter\n"


def test_a_stopped_service_is_one_line_and_exit_1(module_demo_stack):
    stack = module_demo_stack
    stack.compose("stop", "-t", "1", "backend")
    try:
        done = shell(stack, "backend", "echo never\n")
        assert done.returncode == 1
        assert done.stdout == ""
        assert done.stderr.startswith("stacktui: backend is not running: its container is exited (exit code ")
        assert done.stderr.endswith("so there is no shell to open (start it first (`stacktui restart backend`))\n")
    finally:
        stack.up("backend")
