"""`stacktui status [--json]`: every service with its real state and health.

Health combines the engine's state, the healthcheck, the `x-stacktui.health`
probe (reached from the host through the namespace owner's published port) and
the stale-namespace verdict. --json adds each running service's resource figures
(cpu_percent, mem_bytes without the page cache, mem_limit_bytes, net_rx_bytes and
net_tx_bytes, or net_shared_with OWNER for a joiner). Exit 0 when every service is healthy or has no
check, 1 otherwise. A container Docker still calls `starting` (its first check is one interval after the
start) has its healthcheck command run once now, as a restart's gate does: `stacktui restart X && stacktui
status` succeeds when X is back, and a service whose check does not pass yet stays `starting` (exit 1).
"""
from __future__ import annotations

import argparse

from stacktui.commands.context import Context, emit_json
from stacktui.core.sanitize import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show every service's state, health and namespace")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.health.status import HEALTHY, NO_CHECK
    from stacktui.core.ops.status import all_well, service_statuses

    project = ctx.project
    rows = service_statuses(project, ctx.engine, figures=args.json)
    if args.json:
        emit_json({"project": project.name, "engine": ctx.endpoint.label, "read_only": project.read_only,
                   "read_only_reason": project.read_only_reason, "services": [r.to_json() for r in rows]})
    else:
        width = max((len(r.service) for r in rows), default=7)
        print(f"project {project.name}" + (f" (attached read-only: {printable(project.read_only_reason or '')})"
                                           if project.read_only else "")
              + ("" if ctx.endpoint.is_local else f" on {ctx.endpoint.label}"))
        for r in rows:
            owner = f"shares {r.namespace_owner}" if r.namespace_owner else ""
            line = f"  {r.service:<{width}}  {r.state:<12} {r.health:<10} {owner}"
            print(line.rstrip())
            if r.stale_reason:
                print(f"  {'':<{width}}  stale: {printable(r.stale_reason)}")
            elif r.health not in (HEALTHY, NO_CHECK) and r.reasons:
                print(f"  {'':<{width}}  {printable('; '.join(r.reasons))}")
            if r.probe is not None:
                result = (f"answered {r.probe.status_code}" if r.probe.ok else
                          f"failed: {r.probe.error}" if r.probe.checked else str(r.probe.error))
                print(f"  {'':<{width}}  probe {r.probe.url} via {printable(r.probe.reached_via)}: {printable(result)}")
    return 0 if all_well(rows) else 1
