"""`e`: the TUI suspends, a shell runs in the selected service's container, and the TUI comes back.

The command is core's (core.ops.shell); picking bash or sh asks the container, so that runs
in a thread worker; the shell itself runs in the foreground with the terminal handed over
(App.suspend) and is waited for. The screen is drawn again exactly as it was.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from stacktui.core import proc
from stacktui.core.errors import StackError
from stacktui.core.sanitize import printable

if TYPE_CHECKING:
    from textual.app import App

    from stacktui.core.ops.shell import ShellCommand


def run_shell(app: "App", command: "ShellCommand") -> int | None:
    """Hand the terminal to the shell until it ends; its exit code, or None when it could not run."""
    from textual.app import SuspendNotSupported

    try:
        with app.suspend():
            sys.stdout.write(f"stacktui: {printable(command.banner)}\n")
            sys.stdout.flush()
            return proc.interactive(command.argv, command.env)
    except SuspendNotSupported:
        app.notify("this terminal cannot hand itself over to a shell", severity="error")
    except OSError as exc:
        app.notify(f"the shell could not start: {exc}", severity="error")
    return None


def shell_failed(app: "App", error: BaseException) -> None:
    """A stopped service or no shell in the image: one notification, nothing else happens."""
    text = str(error) if isinstance(error, StackError) else f"no shell: {error}"
    app.notify(printable(text), severity="warning", timeout=8)
