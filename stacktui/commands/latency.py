"""`stacktui latency [SERVICE...] [--json] [--count N] [--timeout S]`: measured round trips per path.

For each listening port of the services (all by default): from the service's own network
namespace to localhost, from each dependant's namespace across the bridge (the name it writes,
through the engine's DNS), and from the host to the published port. TCP connect and, where the
service has a health URL on that port, a whole HTTP request: p50, p95, p99 and max over N asks.
Exit 0 when every ask answered, 1 when one failed or a service is not running.
"""
from __future__ import annotations

import argparse

from stacktui.commands.context import Context, emit_json
from stacktui.core.sanitize import printable


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"the count must be 1-100000, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"the time limit must be more than 0 and at most 600 s, not {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("latency", help="measure request round trips along each path the stack uses",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("services", nargs="*", metavar="SERVICE", help="the services to measure (default: all that listen)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--count", type=_count, default=200, metavar="N", help="asks per path (default 200)")
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="S",
                   help="the whole measurement stops after S seconds; asks left are reported as not run (default 10)")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.ops.latency import measure

    project = ctx.project
    report = measure(project, ctx.engine, args.services, count=args.count, timeout=args.timeout)
    if args.json:
        emit_json(report.to_json())
        return 0 if report.ok else 1
    if report.paths:
        print(f"project {project.name}: {report.count} asks per path, measured in {report.elapsed_s:.1f} s")
    for line in report.lines():
        print(printable(line))
    return 0 if report.ok else 1
