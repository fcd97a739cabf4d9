"""`e`: the TUI suspends, a shell runs in the selected service's container, and the TUI comes back
(and so does a user's interactive command, ui.usercommands).

The command is core's (core.ops.shell); picking bash or sh asks the container, so that runs
in a thread worker; the shell itself runs in the foreground with the terminal handed over
(App.suspend) and is waited for. The screen is drawn again exactly as it was.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Mapping, Sequence

from stacktui.core import proc
from stacktui.core.errors import StackError
from stacktui.core.sanitize import printable

if TYPE_CHECKING:
    from textual.app import App

    from stacktui.core.ops.shell import ShellCommand


def run_shell(app: "App", command: "ShellCommand") -> int | None:
    """Hand the terminal to the shell until it ends; its exit code, or None when it could not run."""
    return run_foreground(app, command.banner, command.argv, command.env, what="the shell")


def run_foreground(app: "App", banner: str, argv: Sequence[str], env: Mapping[str, str] | None, *,
                   what: str = "the command") -> int | None:
    """Suspend the TUI, say `banner`, run argv with the terminal until it ends; its exit code, or None
    when it could not run (said in a notification)."""
    from textual.app import SuspendNotSupported

    try:
        with app.suspend():
            sys.stdout.write(f"stacktui: {printable(banner)}\n")
            sys.stdout.flush()
            return proc.interactive(argv, env or None)
    except SuspendNotSupported:
        app.notify(f"this terminal cannot hand itself over to {what}", severity="error")
    except OSError as exc:
        app.notify(f"{what} could not start: {exc}", severity="error", markup=False)
    return None


def shell_failed(app: "App", error: BaseException) -> None:
    """A stopped service or no shell in the image: one notification, nothing else happens."""
    text = str(error) if isinstance(error, StackError) else f"no shell: {error}"
    app.notify(printable(text), severity="warning", timeout=8)
