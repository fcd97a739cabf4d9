"""An interactive command of the user's own in a real terminal (tmux): the TUI steps aside, the command runs
in the selected service's container with the terminal (it reads a line typed), and the table comes back."""
from __future__ import annotations

from tests.test_ui_everyday_tmux import start
from tests.test_ui_tmux import tmux  # noqa: F401  (the fixture)


def test_an_interactive_command_gets_the_terminal_and_the_tui_comes_back(module_demo_stack, tmux, tmp_path):  # noqa: F811
    (tmp_path / "stacktui").mkdir()
    (tmp_path / "stacktui" / "config.toml").write_text(
        "[[commands]]\nname = 'ask'\nkey = 'A'\nmode = 'interactive'\n"
        "run = 'echo asking in {service} pid1=$(cat /proc/1/cmdline | tr -d \"\\0\"); read answer; "
        "echo answer-was-$answer-$((6*7)); sleep 1'\n")
    start(tmux, module_demo_stack, tmp_path)
    tmux.wait_for("\u2714 healthy")
    tmux.keys("Down", "Down")  # backend
    tmux.keys("A")
    tmux.wait_for("stacktui: ask in backend: echo asking in backend", "asking in backend pid1=sh/scripts/backend.sh")
    tmux.keys("-l", "yes")
    tmux.keys("Enter")
    tmux.wait_for("answer-was-yes-42")
    screen = tmux.wait_for("shares vscode")  # the table again
    assert "answer-was" not in screen
    tmux.keys("q")
    assert "STACKTUI-EXIT=0" in tmux.wait_for("STACKTUI-EXIT=", timeout=20)
