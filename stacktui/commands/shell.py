"""`stacktui shell SERVICE`: an interactive shell in the service's running container (bash, else sh).

The same shell the TUI's `e` opens, on the engine stacktui uses. Exit code: the
shell's own; 1 when the service is not running.
"""
from __future__ import annotations

import argparse
import sys

from stacktui.commands.context import Context
from stacktui.core import proc
from stacktui.core.sanitize import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shell", help="open a shell (bash, else sh) in a service's running container")
    p.add_argument("service", metavar="SERVICE")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.shell import shell_command

    command = shell_command(ctx.project, ctx.engine, args.service, tty=sys.stdin.isatty())
    print(f"stacktui: {printable(command.banner)}", file=sys.stderr, flush=True)
    # In the foreground until the user leaves the shell (or the container stops); then reaped.
    return proc.interactive(command.argv, command.env)
