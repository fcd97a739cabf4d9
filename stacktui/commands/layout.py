"""`stacktui layout show|separate|shared|history|undo`: switch a service between its own and a shared namespace.

A change is shown as a unified diff first; `--dry-run` stops there, `--no-up`
writes the file only, otherwise the touched services are brought up from it
and checked, and everything is put back if that fails.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable

from stacktui.commands.signals import handled
from stacktui.commands.context import Context, emit_json, relpath
from stacktui.core import proc
from stacktui.core.errors import ConfigError, StackError
from stacktui.core.sanitize import printable

MULTILINE = "\t\n"  # Compose's and the apply's messages may span lines

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine
    from stacktui.core.ops.layout import LayoutChange


def _ports(text: str) -> list[int]:
    if text.strip().lower() == "none":
        return []  # said outright: no port moves (an owner that publishes none of the service's ports)
    try:
        ports = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ports: {text!r} (write 9001,9002)") from None
    if not ports or any(not 1 <= p <= 65535 for p in ports):
        raise argparse.ArgumentTypeError(f"ports must be 1-65535, or `none`: {text!r}")
    return ports


def _change_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print the diff and change nothing")
    p.add_argument("--no-up", action="store_true", help="write the file, leave the containers alone")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long services may take to become healthy (default 60)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layout", help="show or switch which services share namespaces",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    lsub = p.add_subparsers(dest="layout_command", metavar="ACTION", required=True, parser_class=type(p))

    show = lsub.add_parser("show", help="which services share which namespace, with their ports")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=run_show)

    sep = lsub.add_parser("separate", help="give SERVICE its own namespaces, with its ports")
    sep.add_argument("service")
    sep.add_argument("--ports", type=_ports, metavar="P,P",
                     help="the container ports that move with SERVICE (and the services joining it), "
                          "when what listens and x-stacktui.listens do not say; `none` when no port moves")
    _change_options(sep)
    sep.set_defaults(run=run_separate)

    shared = lsub.add_parser("shared", help="move SERVICE into OWNER's network and ipc namespaces")
    shared.add_argument("service")
    shared.add_argument("--with", dest="owner", required=True, metavar="OWNER",
                        help="the service whose namespaces to join")
    _change_options(shared)
    shared.set_defaults(run=run_shared)

    hist = lsub.add_parser("history", help="the changes made to the compose files, newest last")
    hist.add_argument("--json", action="store_true", help="machine-readable output")
    hist.set_defaults(run=run_history)

    undo = lsub.add_parser("undo", help="write back the file from before the last change (undo again to redo)")
    _change_options(undo)
    undo.set_defaults(run=run_undo)


# ---------------------------------------------------------------- show and history


def run_show(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.layout_show import describe

    project = ctx.project
    groups = describe(project)
    if args.json:
        emit_json({"project": project.name, "namespaces": [
            {"owner": g.owner, "ipc": g.ipc, "listens": list(g.listens),
             "members": [{"service": m.service, "joins": m.joins, "listens": list(m.listens)} for m in g.members],
             "ports": [{"port": label, "service": who} for label, who in g.ports]}
            for g in groups]})
        return 0
    print(f"project {project.name}")
    for g in groups:
        if not g.members:
            ports = ", ".join(label for label, _who in g.ports)
            print(f"  {g.owner}: {_alone(project.services[g.owner])}" + (f"; publishes {ports}" if ports else ""))
            continue
        ipc = f", ipc {g.ipc}" if g.ipc else ""
        print(f"  {g.owner}: owns a network namespace shared with {', '.join(m.service for m in g.members)}{ipc}")
        for m in g.members:
            joins = ", ".join(f"{k.replace('network_mode', 'network')} of {t}" for k, t in m.joins.items())
            listens = f"; listens on {', '.join(map(str, m.listens))}" if m.listens else ""
            print(f"    {m.service} joins {joins}{listens}")
        for label, who in g.ports:
            print(f"    port {label}" + (f" -> {who}" if who else " (no service claims it in x-stacktui.listens)"))
    return 0


def _alone(spec: Any) -> str:
    """What a service joins by none of the project's services lives in: its own namespaces, or not."""
    mode = str(spec.network_mode or "")
    if mode == "host":
        words = "the host's network namespace (none of its own)"
    elif mode == "none":
        words = "own namespaces, without a network"
    elif mode.startswith("container:"):
        words = f"the network namespace of container {mode.split(':', 1)[1]} (outside this project)"
    else:
        words = "own namespaces"
    shared = [k for k in ("ipc", "pid") if str(getattr(spec, k) or "") == "host"]
    return words + (f"; the host's {' and '.join(shared)}" if shared else "")


def run_history(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.layout_show import history

    entries = history(ctx.project)
    if args.json:
        emit_json([{**e.to_json(), "rolled_back": undone} for e, undone in entries])
        return 0
    if not entries:
        print("no layout changes recorded")
        return 0
    for e, undone in entries:
        state = "  (rolled back: the apply failed)" if undone else ""
        print(f"#{e.id:<3} {e.time}  {e.kind:<8}  {relpath(e.path)}  {e.reason}{state}")
    return 0


# ---------------------------------------------------------------- changes


def _live_engine(ctx: Context) -> Callable[[], Engine | None]:
    """The engine, asked for only when the owner publishes ports: what listens in it says whose they are."""
    def connect() -> Engine | None:
        try:
            return ctx.engine
        except StackError:
            return None  # without an engine only x-stacktui.listens, the comments and --ports can say
    return connect


def run_separate(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.layout import prepare_separate

    change = prepare_separate(ctx.project, args.service, args.ports, engine=_live_engine(ctx))
    return _carry_out(ctx, args, change, _latency(ctx, args.service, None))


def run_shared(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.layout import prepare_shared

    return _carry_out(ctx, args, prepare_shared(ctx.project, args.service, args.owner),
                      _latency(ctx, args.service, args.owner))


def run_undo(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.layout import prepare_undo

    return _carry_out(ctx, args, prepare_undo(ctx.project))


def _confirm(change: "LayoutChange") -> bool:
    if not sys.stdin.isatty():
        raise ConfigError(f"not changing {relpath(change.file)} without confirmation: standard input is not a terminal",
                          hint="pass --yes to apply, or --dry-run to only see the diff")
    try:
        answer = input(f"{change.reason}: apply? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _held(signum: int, _frame: Any) -> None:
    """SIGINT and SIGTERM while a change is applied: the apply is one step, so it finishes (or puts
    file and containers back) before the process ends. Dying in between could leave a new file
    beside old containers. Ctrl-C is passed on to Compose (in a process group of its own it no longer
    hears the terminal), which stops, and the apply then rolls back."""
    print(f"stacktui: {signal.Signals(signum).name}: finishing the layout change, or putting everything "
          "back, before stopping", file=sys.stderr, flush=True)
    if signum == signal.SIGINT:
        proc.signal_all(signal.SIGINT)


def _latency(ctx: Context, service: str, owner: str | None) -> Callable[[], str]:
    """The measured price of each layout, beside the diff of a dry run: one line."""
    def line() -> str:
        from stacktui.core.ops.latency import compare_layouts

        try:
            engine = ctx.engine
        except StackError as exc:
            return f"latency: not measured: {exc}"
        return printable(compare_layouts(ctx.project, engine, service, owner).words())
    return line


def _carry_out(ctx: Context, args: argparse.Namespace, change: "LayoutChange",
               latency: Callable[[], str] | None = None) -> int:
    from stacktui.core.ops.layout import ApplyEvent, apply_change, ask_compose

    print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    if args.dry_run and latency is not None:
        print(latency())  # beside the diff; the notes and the verdict stay last
    for note in change.notes:
        print(f"note: {note}")
    if change.changed:
        ask_compose(change, ctx.target)  # the apply's first question: refused here, refused there
    if args.dry_run:
        print(f"dry run: {change.reason}; nothing written")
        return 0
    if not args.yes and not _confirm(change):
        print("nothing changed")
        return 1

    def show(event: ApplyEvent) -> None:
        print(f"  {event.kind}: {printable(event.message, keep=MULTILINE)}", flush=True)

    engine = None if args.no_up else ctx.engine
    with handled(_held):
        result = apply_change(change, ctx.project, engine, ctx.target, on_event=show, up=not args.no_up,
                              timeout=args.timeout)
    for note in result.notes[len(change.notes):]:
        print(f"note: {note}")
    if result.ok:
        entry = f" (history #{result.entry.id})" if result.entry else ""
        print(f"done: {change.reason}{entry}")
        return 0
    print(f"stacktui: layout change failed at {result.failed}: {printable(result.reason or '', keep=MULTILINE)}",
          file=sys.stderr)
    if not result.rolled_back:
        print(f"stacktui: nothing was changed: {relpath(change.file)} and the containers are as they were",
              file=sys.stderr)
    elif result.rollback_ok:
        print(f"stacktui: rolled back: {relpath(change.file)} is as it was and the previous layout runs again",
              file=sys.stderr)
        for item in result.rollback_verified:
            print(f"stacktui:   verified: {printable(item)}", file=sys.stderr)
    else:
        print(f"stacktui: ROLLBACK INCOMPLETE: {printable(result.rollback_reason or '', keep=MULTILINE)}",
              file=sys.stderr)
    return 1
