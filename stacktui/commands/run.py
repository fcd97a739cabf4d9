"""`stacktui run NAME [SERVICE]`: one of the user's own commands (`[[commands]]` in config.toml).

The same command the TUI offers in its palette, `?` and on its key: an `output` command prints
what it said (control characters shown as escapes on a terminal, passed through to a pipe) and
ends with its exit code; past its time limit it is stopped with what it started, exit 1. An
`interactive` one gets the terminal until it ends. A host command that names no service needs
no SERVICE.
"""
from __future__ import annotations

import argparse
import sys

from stacktui.commands.context import Context
from stacktui.core import proc
from stacktui.core.sanitize import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one of your own commands ([[commands]] in config.toml) on a service")
    p.add_argument("name", metavar="NAME", help="the command's name in config.toml")
    p.add_argument("service", metavar="SERVICE", nargs="?", help="the service it runs on (its container for `run`)")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.usercommand import find, prepare, prepare_on_host, run_output
    from stacktui.core.userconf import placeholders_in

    command = find(ctx.settings.commands, args.name)
    if args.service is None and not command.needs_service:
        # A host command naming no service needs no engine, and a project only for {project}.
        name = ctx.target.project_name or "" if "project" in placeholders_in(command.template) else ""
        prepared = prepare_on_host(command, name, ctx.endpoint.env())
    else:
        prepared = prepare(ctx.project, ctx.engine, command, args.service, tty=sys.stdin.isatty())
    if prepared.interactive:
        print(f"stacktui: {printable(command.name)} {prepared.where}: {printable(prepared.text)}", file=sys.stderr,
              flush=True)
        return proc.interactive(prepared.argv, prepared.env or None)
    result = run_output(prepared, ctx.engine if prepared.container_id else None)
    text = printable(result.text, keep="\t\n") if sys.stdout.isatty() else result.text
    sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
    if result.cut:
        print(f"stacktui: the first {result.cut:,} characters of the output were left out", file=sys.stderr)
    return 1 if result.exit_code is None else result.exit_code
