"""`stacktui` (the TUI command) with bad input: one clear message and exit code 2, after the screen is gone."""
from __future__ import annotations

import subprocess
from pathlib import Path
from tests.usercli import STACKTUI, cli_env

ROOT = Path(__file__).resolve().parent.parent


def run_tui(cwd: Path, docker_host: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(DOCKER_HOST=docker_host)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return subprocess.run([*STACKTUI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)


def last_line(stderr: str) -> str:
    """The message printed after the app restored the terminal (Textual writes its screen to stderr)."""
    return stderr.rsplit("\x1b[?1006l", 1)[-1].strip()


def test_no_engine_is_one_message_naming_the_engine_and_exit_2(stack_factory, tmp_path):
    stack = stack_factory("demo", ("DEMO_VSCODE_PORT", "DEMO_MCP_HTTP_PORT", "DEMO_MCP_WS_PORT"))
    missing = tmp_path / "no-engine.sock"
    done = run_tui(stack.dir, f"unix://{missing}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert last_line(done.stderr) == (f"stacktui: the Docker engine at unix://{missing} does not answer "
                                      "(start Docker, or set DOCKER_HOST to a running engine)")


def test_invalid_yaml_is_one_message_with_file_and_line_and_exit_2(tmp_path, docker_host):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n   bad: [\n")
    done = run_tui(tmp_path, docker_host)
    assert done.returncode == 2, done.stderr[-2000:]
    message = last_line(done.stderr)
    assert message.startswith(f"stacktui: {tmp_path / 'compose.yaml'}:4: invalid YAML"), message
    assert "Traceback" not in done.stderr


def test_log_history_takes_a_number_or_all_and_says_so_otherwise(tmp_path, docker_host):
    from stacktui.cli import build_parser

    assert build_parser().parse_args(["tui", "--log-history", "all"]).log_history == "all"
    assert build_parser().parse_args(["tui", "--log-history", "250"]).log_history == 250
    env = cli_env(DOCKER_HOST=docker_host)
    done = subprocess.run([*STACKTUI, "tui", "--log-history", "lots"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == \
        "stacktui tui: error: argument --log-history: 'lots' is not a number of lines or `all`"


def test_the_tuis_options_work_without_the_tui_command(tmp_path):
    """`stacktui --log-history 20` is `stacktui tui --log-history 20` (the TUI is the default command);
    given to another command, they are a usage error that says where they belong."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    missing = f"unix://{tmp_path / 'no-engine.sock'}"
    spelled = run_tui(tmp_path, missing, "tui", "--log-history", "20", "--log-lines", "500")
    short = run_tui(tmp_path, missing, "--log-history", "20", "--log-lines", "500")
    assert spelled.returncode == 2 and "does not answer" in last_line(spelled.stderr)
    assert (short.returncode, last_line(short.stderr)) == (spelled.returncode, last_line(spelled.stderr))

    wrong = run_tui(tmp_path, missing, "--log-history", "20", "status")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == ("stacktui: error: --log-history is an option of the TUI: "
                                                     "`stacktui --log-history ...` or `stacktui tui --log-history "
                                                     "...`, not with status")

