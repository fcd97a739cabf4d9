"""`stacktui status [--json]`: every service with its real state and health."""
from __future__ import annotations

import argparse

from stacktui.commands.context import Context, emit_json
from stacktui.core.probes import probe_all
from stacktui.core.status import HEALTHY, NO_CHECK, collect


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show every service's state, health and namespace")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    project = ctx.project
    containers = ctx.engine.project_containers(project.name)
    rows = collect(project, containers, probe_all(project, containers, local_engine=ctx.engine.is_local()))
    if args.json:
        emit_json({"project": project.name, "services": [r.to_json() for r in rows]})
    else:
        width = max((len(r.service) for r in rows), default=7)
        print(f"project {project.name}")
        for r in rows:
            owner = f"shares {r.namespace_owner}" if r.namespace_owner else ""
            line = f"  {r.service:<{width}}  {r.state:<12} {r.health:<10} {owner}"
            print(line.rstrip())
            if r.stale_reason:
                print(f"  {'':<{width}}  stale: {r.stale_reason}")
            if r.probe is not None:
                result = f"answered {r.probe.status_code}" if r.probe.ok else f"failed: {r.probe.error}"
                print(f"  {'':<{width}}  probe {r.probe.url} via {r.probe.reached_via}: {result}")
    return 0 if all(r.health in (HEALTHY, NO_CHECK) for r in rows) else 1
