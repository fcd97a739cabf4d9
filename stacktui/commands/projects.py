"""`stacktui projects [--json]`: every Compose project on the engine(s), from container labels.

With `--context A --context B` it asks each engine and names the engine on each row. Exit
0 when every engine answered, 1 when one did not (the others are still listed), 2 when none did.
"""
from __future__ import annotations

import argparse
import sys

from stacktui.commands.context import Context, emit_json
from stacktui.core.sanitize import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("projects", help="list every Compose project on the engine(s)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.engine.client import Engine
    from stacktui.core.ops.projects import list_all

    answers = list_all(ctx.endpoints, Engine.connect)
    projects = [p for a in answers for p in a.projects]
    failed = [a for a in answers if a.error]
    code = 0 if not failed else 2 if len(failed) == len(answers) else 1
    if args.json:
        emit_json({"projects": [p.to_json() for p in projects],
                   "engines": [{"engine": a.engine, "host": a.host, "error": a.error} for a in answers]})
        return code
    for a in failed:
        print(f"stacktui: engine {printable(a.engine)}: {printable(a.error or '')}", file=sys.stderr)
    if not projects and not failed:
        print("no Compose projects on " + ", ".join(printable(a.engine) for a in answers))
    width = max((len(p.project) for p in projects), default=7)
    for p in projects:
        badge = f"  STALE: {', '.join(p.stale_services)}" if p.stale else ""
        print(f"{printable(p.project):<{width}}  {printable(p.engine)}  {len(p.services)} services  "
              f"{p.running} running  {p.healthy} healthy"
              + (f"  {p.unchecked} without healthcheck" if p.unchecked else "") + badge)
    return code
