"""`e` in a real terminal (tmux): the TUI hands the terminal to a shell in the selected
container, and comes back to the table when the shell exits. With the settings file's keys."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from tests.test_ui_tmux import ROOT, tmux  # noqa: F401  (the fixture)


def start(tmux, stack, config_home: Path) -> None:  # noqa: F811
    command = Path(sys.executable).parent / "stacktui"
    env = {"DOCKER_HOST": os.environ["DOCKER_HOST"], "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
           "XDG_CONFIG_HOME": str(config_home), "PATH": os.environ["PATH"]}
    line = (f"cd {shlex.quote(str(stack.dir))} && env -u COLUMNS -u LINES "
            f"{' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} {shlex.quote(str(command))}; "
            "echo STACKTUI-EXIT=$?; exec sleep 120")
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", tmux.session, "-x", "150", "-y", "40", "sh", "-c", line)


def test_e_runs_a_shell_in_the_selected_container_and_returns_to_the_table(module_demo_stack, tmux, tmp_path):  # noqa: F811
    (tmp_path / "stacktui").mkdir()
    (tmp_path / "stacktui" / "config.toml").write_text('[keys]\nshell = "e"\nrestart = "x"\n')
    start(tmux, module_demo_stack, tmp_path)
    tmux.wait_for("\u2714 healthy")
    tmux.wait_for("shared with vscode")  # the resource columns, the joiner's network
    tmux.keys("Down")  # mcp-server, which lives in vscode's namespaces
    tmux.keys("e")
    tmux.wait_for("`exit` returns to stacktui", "stacktui: sh in mcp-server", "in vscode's network and IPC namespaces")
    tmux.keys("-l", "echo marker-$((6*7)); cat /proc/1/cmdline | tr '\\0' ' '; echo")
    tmux.keys("Enter")
    # PID 1 of the container the shell is in; cat's line can come a capture after the echo's
    tmux.wait_for("marker-42", "/scripts/mcp-server.sh")
    tmux.keys("-l", "exit")
    tmux.keys("Enter")
    screen = tmux.wait_for("shares vscode")  # the table again, as it was
    assert "marker-42" not in screen
    tmux.wait_for("logs mcp-server")
    tmux.keys("x")  # restart, remapped in config.toml: the plan and its keys, then cancelled
    tmux.wait_for("y / enter run")
    tmux.keys("n")
    tmux.wait_gone("y / enter run")
    tmux.keys("q")
    screen = tmux.wait_for("STACKTUI-EXIT=", timeout=20)
    assert "STACKTUI-EXIT=0" in screen


def test_a_bad_settings_file_is_said_in_the_tui_which_runs_on_defaults(module_demo_stack, tmux, tmp_path):  # noqa: F811
    (tmp_path / "stacktui").mkdir()
    path = tmp_path / "stacktui" / "config.toml"
    path.write_text('theme = "textual-light"\nresource_refresh = "often"\n')
    start(tmux, module_demo_stack, tmp_path)
    screen = tmux.wait_for("using the defaults")
    toast = " ".join(line.strip(" \u258a\u258e\u2590\u258c") for line in screen.splitlines())
    assert "config.toml:2: resource_refresh must be seconds" in toast
    tmux.wait_for("\u2714 healthy")
    tmux.keys("q")
    assert "STACKTUI-EXIT=0" in tmux.wait_for("STACKTUI-EXIT=", timeout=20)
