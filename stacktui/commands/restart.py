"""`stacktui restart SERVICE... [--all] [--dry-run] [--json] [--timeout S]`: ordered, health-gated restarts.

Exit 0 when every step's gates passed, 1 when a step failed, was cancelled or
the project is busy, 2 for usage or configuration errors. The first SIGINT or
SIGTERM lets the current step finish and reports the rest as not run; a second
one stops waiting for the current gate too.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, TextIO

from stacktui.commands.signals import handled
from stacktui.commands.context import Context, emit_json
from stacktui.core.sanitize import printable
from stacktui.core.errors import ConfigError

if TYPE_CHECKING:  # core.restart pulls in gates, probes and ssl: the TUI's start-up does not need them
    from stacktui.core.ops.restart import PlanEvent, PlanResult, RestartPlan

LOCK_WAIT = 600.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restart",
                       help="restart services and everyone sharing their namespaces, in order, with health gates")
    p.add_argument("services", nargs="*", metavar="SERVICE", help="the services to restart")
    p.add_argument("--all", action="store_true", help="restart the whole stack in dependency order")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds each step may wait for its gates (default 60)")
    p.add_argument("--no-wait", action="store_true",
                   help="fail at once (exit 1) when another plan is running on the project, instead of waiting")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ConfigError("--timeout must be more than 0 seconds")
    if args.all and args.services:
        raise ConfigError("give services or --all, not both")
    if not args.all and not args.services:
        raise ConfigError("name the services to restart", hint="or pass --all to restart the whole stack")
    from stacktui.core.ops.restart import plan_restart, run_restart

    project = ctx.project
    engine = ctx.engine
    containers = engine.project_containers(project.name)  # one listing for the plan and its first step
    plan = plan_restart(project, engine, args.services, everything=args.all, containers=containers)
    if args.dry_run:
        if args.json:
            emit_json({"steps": [{"service": s.service, "action": s.action, "waits_for": s.waits_for}
                                 for s in plan.steps]})
        else:
            _print_plan(plan, sys.stdout)
        return 0

    out: TextIO = sys.stderr if args.json else sys.stdout
    if not args.json:
        _print_plan(plan, out)
    cancel, abort = threading.Event(), threading.Event()
    with handled(_stopper(cancel, abort, out)):
        result = run_restart(plan, project, engine, ctx.target,
                             on_event=lambda e: _print_event(e, len(plan.steps), out), cancel=cancel,
                             timeout=args.timeout, abort=abort, lock_wait=0.0 if args.no_wait else LOCK_WAIT,
                             containers=containers)
    if args.json:
        emit_json({"plan": plan.to_json(), "result": result.to_json()})
    else:
        _print_result(result, out)
    return 0 if result.ok else 1


def _print_plan(plan: RestartPlan, out: TextIO) -> None:
    print(f"restart plan for project {plan.project} ({len(plan.steps)} step(s)):", file=out)
    for i, s in enumerate(plan.steps, 1):
        why = "" if s.reason == "requested" else f"  [{s.reason}]"
        if s.note:
            why += f"  [recreate: {s.note}]"
        print(f"  {i}. {s.action} {s.service}, then wait for {', '.join(s.waits_for)}{why}", file=out)
    out.flush()


# How each kind of progress reads, after the step's tag; plan_done is left to the summary.
_EVENT_LINES = {
    "step_started": "{tag} {message}",
    "gate_waiting": "{tag}   {message}",
    "gate_passed": "{tag}   ok {message}",
    "step_done": "{tag} done: {message}",
    "step_failed": "{tag} FAILED: {message}",
    "lock_waiting": "waiting: {message}",
}


def _print_event(e: PlanEvent, total: int, out: TextIO) -> None:
    shape = _EVENT_LINES.get(e.kind)
    if shape is None:
        return
    tag = f"[{e.step}/{total}]" if e.step else "     "
    print(shape.format(tag=tag, message=printable(e.message)), file=out, flush=True)


def _print_result(result: PlanResult, out: TextIO) -> None:
    if result.ok:
        print(f"done: {len(result.steps_run)} step(s) in {result.elapsed:.2f} s; {printable(result.verified)}",
              file=out)
        return
    if result.cancelled:
        print(f"stopped: {printable(result.reason or 'cancelled')}", file=out)
    else:
        print(f"failed: {printable(result.reason or '')}", file=out)
    if result.health_output:
        print("last health output:", file=out)
        for line in result.health_output.splitlines()[-5:]:
            print(f"  {printable(line)}", file=out)
    if result.last_logs:
        print("last log lines:", file=out)
        for line in result.last_logs:
            print(f"  {printable(line)}", file=out)
    if result.not_run:
        names = ", ".join(s.service for s in result.not_run)
        print(f"not run: {names}", file=out)
    if result.stopped_not_run:
        names = ", ".join(result.stopped_not_run)
        command = result.bring_back_command()
        print(f"left stopped, as they were stopped with their namespace owner: {names}"
              + (f" (`{command}` brings them back once it is fixed)" if command else ""), file=out)


def _stopper(cancel: threading.Event, abort: threading.Event, out: TextIO) -> Callable[[int, Any], None]:
    """The first signal lets the current step finish; a second one stops its wait too."""
    def handler(signum: int, _frame: Any) -> None:
        if not cancel.is_set():
            cancel.set()
            print(f"stacktui: {signal.Signals(signum).name}: finishing the current step, then stopping "
                  "(again to stop waiting now)", file=out, flush=True)
        else:
            abort.set()

    return handler
