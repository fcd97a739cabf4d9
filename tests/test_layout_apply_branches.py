"""apply_change's other branches on the real engine (issue 17, gaps 5 and 6): nothing running,
a `compose up` that fails, a rollback refused because the file was edited mid-apply, and the
rollback of a failed undo.

Each stack is a copy of compose/demo whose mcp-server can be made to hang its next start,
never healthy (`workspace/fail-next`): Compose's `up --wait` then fails (stacktui runs the Go
binary, whose exit status is kept), where the test wants the failure, and only once, so the
rollback's own start succeeds. A `compose up` that fails outright is Compose run through a
wrapper that fails its next `up`.
"""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO_PORTS, Stack, compose_cmd, free_port, make_stack
from tests.faults_support import Running
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env

FAIL_ONCE = """\
# test copy: a start that finds /workspace/fail-next hangs, never healthy, until stopped (once)
if [ -e /workspace/fail-next ]; then
  rm -f /workspace/fail-next
  echo "mcp-server: this start hangs on purpose"
  trap 'exit 0' TERM
  while :; do sleep 1 & wait $!; done
fi
exec sh /scripts/mcp-server-real.sh
"""
# What --timeout gives compose up --wait: a good start passes well within it, and the hanging one is
# judged unhealthy by Docker first (its 10 s start period, then three failed checks 2 s apart: about
# 16 s), so Compose always says so in its own words rather than running out of time.
TIMEOUT = "30"


def demo_copy(tmp_path: Path) -> Stack:
    stack = make_stack(tmp_path, "demo", DEMO_PORTS)
    scripts = stack.dir / "scripts"
    (scripts / "mcp-server.sh").rename(scripts / "mcp-server-real.sh")
    (scripts / "mcp-server.sh").write_text(FAIL_ONCE)
    return stack


@pytest.fixture
def stack(tmp_path: Path, demo_image: str):
    stack = demo_copy(tmp_path)
    try:
        yield stack
    finally:
        stack.down()


def shares_vscode(stack: Stack, engine) -> bool:
    vscode, mcp = stack.container(engine, "vscode"), stack.container(engine, "mcp-server")
    return mcp.network_mode == f"container:{vscode.id}"


def history(stack: Stack) -> list[str]:
    done = stack.stacktui("layout", "history")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_nothing_running_writes_the_file_and_starts_nothing(stack, engine):
    done = stack.stacktui("layout", "separate", "mcp-server", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing running to recreate" in done.stdout
    assert "done: separate mcp-server from vscode" in done.stdout
    assert "network_mode" not in stack.file.read_text().split("mcp-server:")[1].split("backend:")[0]
    assert engine.project_containers(stack.name) == []  # nothing was started


def failing_up_compose(folder: Path) -> tuple[str, Path]:
    """A Compose that runs every command for real, except that its next `up` (once the marker
    exists) exits 1 after doing its work: what stacktui sees when Compose fails part way."""
    marker = folder / "compose-up-fails-next"
    wrapper = folder / "compose-wrapper.sh"
    real = " ".join(shlex.quote(part) for part in compose_cmd())
    wrapper.write_text(f"""#!/bin/sh
{real} "$@"
code=$?
case " $* " in *" up "*)
  if [ -e {shlex.quote(str(marker))} ]; then
    rm -f {shlex.quote(str(marker))}
    echo "compose-wrapper: up failed after its work (test)" >&2
    exit 1
  fi;;
esac
exit $code
""")
    wrapper.chmod(0o755)
    return str(wrapper), marker


def test_a_compose_up_that_fails_puts_file_and_containers_back(stack, engine, tmp_path):
    stack.up()
    original = stack.file.read_bytes()
    wrapper, marker = failing_up_compose(tmp_path)
    marker.touch()
    done = subprocess.run([*STACKTUI, "layout", "separate", "mcp-server", "--yes"],
                          cwd=stack.dir, capture_output=True, text=True, timeout=300,
                          env=cli_env(NO_COLOR="1", STACKTUI_COMPOSE=wrapper))
    assert done.returncode == 1, done.stdout + done.stderr
    assert not marker.exists(), "the failing up was the apply's"
    failed = next(ln for ln in done.stdout.splitlines() if ln.startswith("  failed: "))
    assert failed.startswith("  failed: compose up: ") and failed.endswith("compose-wrapper: up failed after its "
                                                                          "work (test)"), failed
    assert "stacktui: layout change failed at compose up: " in done.stderr
    assert "stacktui: rolled back: compose.yaml is as it was and the previous layout runs again" in done.stderr
    assert stack.file.read_bytes() == original
    assert shares_vscode(stack, engine)
    assert stack.container(engine, "mcp-server").state == "running"
    rows = history(stack)
    assert "separate mcp-server from vscode" in rows[0] and "(rolled back: the apply failed)" in rows[0]
    assert "rollback  compose.yaml  rollback of #1: compose up: " in rows[1]


def test_a_file_edited_during_the_apply_is_not_overwritten_by_the_rollback(stack, engine):
    stack.up()
    workspace = stack.dir / "workspace"
    (workspace / "fail-next").touch()
    run = Running.start([*STACKTUI, "layout", "separate", "mcp-server", "--yes", "--timeout",
                         TIMEOUT], stack.dir, cli_env(NO_COLOR="1"))
    try:
        run.wait_for("up: compose up")
        until(lambda: not (workspace / "fail-next").exists(), 60, "the recreated mcp-server hanging in its start")
        edited = stack.file.read_bytes() + b"# the user's own edit, made while the apply ran\n"
        stack.file.write_bytes(edited)
        code = run.finish(120)
    finally:
        run.kill()
    assert code == 1, run.stdout + run.stderr
    # Compose's own `up --wait` says it first (its exit status is kept): the service never became healthy.
    assert "stacktui: layout change failed at compose up: container " in run.stderr
    assert "-mcp-server-1 is unhealthy" in run.stderr
    assert "stacktui: ROLLBACK INCOMPLETE: the file was not put back: " in run.stderr
    assert "changed on disk since the rollback of #1 was prepared; nothing was written" in run.stderr
    assert stack.file.read_bytes() == edited, "the user's edit is kept"


def test_a_failed_undo_is_rolled_back_and_can_be_undone_again(stack, engine):
    stack.up()
    original = stack.file.read_bytes()
    done = stack.stacktui("layout", "separate", "mcp-server", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    separated = stack.file.read_bytes()

    (stack.dir / "workspace" / "fail-next").touch()
    done = stack.stacktui("layout", "undo", "--yes", "--timeout", TIMEOUT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stacktui: layout change failed at compose up: container " in done.stderr, done.stderr
    assert "-mcp-server-1 is unhealthy" in done.stderr, done.stderr
    assert "stacktui: rolled back: compose.yaml is as it was and the previous layout runs again" in done.stderr
    assert stack.file.read_bytes() == separated
    assert not shares_vscode(stack, engine)
    rows = history(stack)
    assert "undo      compose.yaml  undo #1" in rows[1] and "(rolled back: the apply failed)" in rows[1]
    assert "rollback  compose.yaml  rollback of #2" in rows[2]

    done = stack.stacktui("layout", "undo", "--yes")  # the undo that was rolled back is not what undo reverts
    assert done.returncode == 0, done.stdout + done.stderr
    assert "undo #1" in done.stdout
    assert stack.file.read_bytes() == original
    assert shares_vscode(stack, engine)



def test_the_env_file_given_to_stacktui_reaches_the_applys_compose_up(stack, engine):
    """`--env-file` names other host ports than .env: the apply's Compose must use them too."""
    alt = {var: free_port() for var in DEMO_PORTS}
    env = (stack.dir / ".env").read_text().splitlines()
    (stack.dir / "alt.env").write_text("\n".join([ln for ln in env if ln.split("=")[0] not in alt]
                                                 + [f"{k}={v}" for k, v in alt.items()]) + "\n")
    up = stack.compose("--env-file", "alt.env", "up", "-d", "--wait", "--wait-timeout", "60", check=False)
    assert up.returncode == 0, up.stderr
    try:
        done = stack.stacktui("--env-file", "alt.env", "layout", "separate", "mcp-server", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        mcp, vscode = stack.container(engine, "mcp-server"), stack.container(engine, "vscode")
        assert {p.host_port for p in mcp.ports} == {alt["DEMO_MCP_HTTP_PORT"], alt["DEMO_MCP_WS_PORT"]}
        assert {p.host_port for p in vscode.ports} == {alt["DEMO_VSCODE_PORT"]}
    finally:
        stack.compose("--env-file", "alt.env", "down", "-t", "1", check=False)
