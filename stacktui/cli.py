"""The command line:
`stacktui [global options] [status|restart|check|layout|latency|watch|projects|shell|run|config|kube|tui|serve]`.

Exit codes for every command: 0 done, 1 a step or check failed, 2 usage or
configuration error. With no command, the TUI opens.
"""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from stacktui import __version__
from stacktui.commands import (check, config, kube, latency, layout, projects, restart, run, serve, shell, signals,
                               status, tui, watch)
from stacktui.commands.context import Context
from stacktui.core.engine.client import lost_engine
from stacktui.core import proc
from stacktui.core.compose.nesting import deep_nesting
from stacktui.core.errors import ConfigError, StackError
from stacktui.core.settings import load_settings

COMMANDS = (status, restart, check, layout, latency, watch, projects, shell, run, config, kube, tui, serve)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 2 with one line, like every other config error
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stacktui", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"stacktui {__version__}")
    parser.add_argument("--context", "-c", action="append", default=[], metavar="NAME",
                        help="docker context to use (repeatable for `projects`); default as the docker CLI: "
                             "DOCKER_HOST, DOCKER_CONTEXT, the current context")
    parser.add_argument("-f", "--file", action="append", default=[], metavar="FILE",
                        help="compose file (repeatable), as in docker compose")
    parser.add_argument("-p", "--project-name", metavar="NAME",
                        help="project name; alone, attach read-only to a running project")
    parser.add_argument("--project-directory", metavar="DIR", help="working directory of the project")
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE", help="alternate env file(s)")
    parser.add_argument("--profile", action="append", default=[], metavar="NAME", help="compose profile(s) to enable")
    tui.add_options(parser, prefix=tui.GLOBAL)  # `stacktui --log-history 20`: the TUI is the default command
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Every command, and the reader of its output going away (`stacktui projects | head -1`)."""
    try:
        try:
            return _main(argv)
        finally:  # argparse's --help and usage exit through here too
            sys.stdout.flush()  # what is still buffered meets a closed pipe here, not at interpreter exit
    except BrokenPipeError:
        if not signals.stdout_gone():
            raise
        return signals.output_closed()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tui"])
    tui.take_global_options(parser, args)
    ctx = Context.from_args(args)
    try:
        ctx.settings = load_settings()
    except ConfigError as exc:
        if args.command != "tui":
            print(f"stacktui: {exc}", file=sys.stderr)
            return exc.exit_code
        ctx.settings_problem = exc  # the TUI says so in a notification and runs on the defaults
    # A bad [[commands]] or [[hooks]] entry: the TUI says it and leaves the entry out; a command stops.
    if ctx.settings.problems and args.command != "tui":
        print(f"stacktui: {ctx.settings.problems[0]}", file=sys.stderr)
        return ctx.settings.problems[0].exit_code
    try:
        # A child Compose must not outlive an interrupted stacktui; a file nested thousands of levels
        # deep (Compose reads those) must not end in RecursionError wherever it is walked.
        with proc.signal_handlers(), deep_nesting():
            return int(args.run(ctx, args))
    except StackError as exc:
        print(f"stacktui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stacktui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and signals.stdout_gone():
            raise  # our reader went away, not the engine (main)
        # The engine went away between two calls: say so in one line, not with a traceback.
        gone = lost_engine(exc, ctx._engine.endpoint.host if ctx._engine is not None else None)
        if gone is None:
            raise
        print(f"stacktui: {gone}", file=sys.stderr)
        return gone.exit_code
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
