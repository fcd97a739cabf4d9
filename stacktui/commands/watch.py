"""`stacktui watch [--heal] [--json] [--all-projects]`: follow the engine, report (and repair) stranded joiners.

A long-running process on the engine's event stream. Without --heal it
reports; with it, every joiner stranded in a dead namespace is repaired with
the ordered, gated plan `stacktui restart` uses, as soon as its owner's start
is seen. --json writes one JSON object per line; hooks ([[hooks]] in
config.toml, --hook CMD) get the same object on stdin. Services unhealthy at N
checks in a row are reported, and restarted in order only with
--heal-unhealthy; a compose file stacktui refuses is reported and waited
for. The first SIGINT or SIGTERM lets a heal under way finish its current
step, then exits 0; a second one exits at once (130).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable

from stacktui.commands.signals import handled
from stacktui.commands.context import Context
from stacktui.core.sanitize import printable
from stacktui.core.errors import ConfigError

HOOK_WAIT = 5.0  # seconds a hook run under way at exit may still take before it is stopped

if TYPE_CHECKING:
    from stacktui.core.heal.files import WatchedFiles


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="follow the engine; report stranded joiners, or heal them with --heal")
    p.add_argument("--heal", action=argparse.BooleanOptionalAction, default=None,
                   help="repair stranded joiners with the ordered, gated restart plan "
                        "(default: `heal` in config.toml, else off)")
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    p.add_argument("--all-projects", action="store_true", help="watch every Compose project on the engine")
    p.add_argument("--heal-unhealthy", action=argparse.BooleanOptionalAction, default=None,
                   help="restart a service unhealthy at --unhealthy-checks checks in a row, in order with its joiners, "
                        "with backoff (default: `heal_unhealthy` in config.toml, else off: reported only)")
    p.add_argument("--unhealthy-checks", type=int, default=None, metavar="N",
                   help="consecutive unhealthy checks before that (default: `unhealthy_checks` in config.toml, else 3)")
    p.add_argument("--check-interval", type=float, default=None, metavar="S",
                   help="seconds between health checks (default: `probe_interval` in config.toml, else 5)")
    p.add_argument("--backoff", type=float, default=None, metavar="S",
                   help="seconds the first wait of a crash-looping owner's backoff lasts, doubling up to 5 min "
                        "(default: `heal_backoff` in config.toml, else 1)")
    p.add_argument("--hook", action="append", default=[], metavar="CMD",
                   help="run CMD (sh -c, on the host) on each stale, heal_done, heal_failed, backoff, unhealthy, "
                        "refused and engine_lost event, with the event's JSON on stdin (repeatable; beside "
                        "[[hooks]] in config.toml)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds each heal step may wait for its gates (default 60)")
    p.set_defaults(run=run)


def printer(as_json: bool) -> Callable[[Any], None]:
    lock = threading.Lock()

    def emit(event: Any) -> None:
        line = json.dumps(event.to_json()) if as_json else printable(event.text()).replace("\\x0a", "\n")
        with lock:
            print(line, flush=True)

    return emit


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.heal.backoff import CAP, Backoff
    from stacktui.core.heal.files import AwaitingFix, WatchedFiles, first_read
    from stacktui.core.heal.fleet import Fleet
    from stacktui.core.heal.healer import ProjectHealer
    from stacktui.core.heal.hooks import HookRunner, command_line_hook

    if args.timeout <= 0:
        raise ConfigError("--timeout must be more than 0 seconds")
    if args.all_projects and (ctx.files or ctx.project_name):
        raise ConfigError("give -f/-p or --all-projects, not both")
    settings = ctx.settings
    if args.heal is None:
        args.heal = settings.heal
    if args.heal_unhealthy is None:
        args.heal_unhealthy = settings.heal_unhealthy
    checks = settings.unhealthy_checks if args.unhealthy_checks is None else args.unhealthy_checks
    interval = args.check_interval if args.check_interval is not None else (settings.probe_interval or 5.0)
    if checks < 1:
        raise ConfigError("--unhealthy-checks must be at least 1")
    if interval <= 0:
        raise ConfigError("--check-interval must be more than 0 seconds")
    first = settings.heal_backoff if args.backoff is None else args.backoff
    if not 0 < first <= CAP:
        raise ConfigError(f"--backoff must be more than 0 and at most {CAP:g} seconds")
    hooks = HookRunner([*settings.hooks, *(command_line_hook(c) for c in args.hook)], _said)
    emit = with_hooks(printer(args.json), hooks)
    stop = threading.Event()
    engine = ctx.engine

    def make(project: Any, target: Any, files: WatchedFiles | None = None) -> ProjectHealer:
        return ProjectHealer(project, engine, emit, heal=args.heal, target=target, stop=stop,
                             backoff=Backoff(first=first), gate_timeout=args.timeout,
                             heal_unhealthy=args.heal_unhealthy,
                             unhealthy_checks=checks, check_interval=interval, files=files)

    with handled(_stopper(stop)):
        if args.all_projects:
            runner: Any = Fleet(engine, emit, stop=stop, make=make).start()
        elif ctx.target.files:
            # A file refused at start is said, and waited for: the watcher runs on and picks it up once fixed.
            files = WatchedFiles(ctx.target)
            project = first_read(files, emit)
            runner = (make(project, ctx.target, files) if project is not None
                      else AwaitingFix(files, make, emit, stop=stop)).start()
        else:
            runner = make(ctx.project, None).start()
        while not stop.wait(0.5):
            pass
        runner.stop()
        runner.join(args.timeout + 30)
        hooks.close(wait=HOOK_WAIT)
    return 0


def with_hooks(emit: Callable[[Any], None], hooks: Any) -> Callable[[Any], None]:
    """Print the event, then hand it to the hooks (which never wait for them)."""
    if not hooks:
        return emit

    def both(event: Any) -> None:
        emit(event)
        hooks(event)

    return both


def _said(text: str) -> None:
    print(f"stacktui: {text}", file=sys.stderr, flush=True)


def _stopper(stop: threading.Event) -> Callable[[int, Any], None]:
    """The first signal finishes the current step, then exits 0; a second one exits at once."""
    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            print("stacktui: stopped at once", file=sys.stderr, flush=True)
            os._exit(130)
        stop.set()
        print(f"stacktui: {signal.Signals(signum).name}: finishing the current step, then exiting "
              "(again to exit at once)", file=sys.stderr, flush=True)

    return handler
