"""`stacktui check [--json] [--static]`: port conflicts and stale namespaces, before they bite.

Exit 0 when nothing is found, 1 when anything is, 2 for a configuration error.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict

from stacktui.commands.context import Context, emit_json, relpath


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="find port conflicts and stale namespaces (files, host, running stack)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--static", action="store_true", help="check the compose files only; no engine needed")
    p.set_defaults(run=run)


def _path(path) -> str:
    return relpath(path) or str(path)


def run(ctx: Context, args: argparse.Namespace) -> int:
    # Imported here: `stacktui --help` and the other commands should not pay for psutil and /proc readers.
    from stacktui.core.ops.check import check_project, local_only_notes

    project = ctx.project
    report = check_project(project, None if args.static else ctx.engine)
    findings, listeners = report.findings, report.listeners
    notes = [] if args.static else local_only_notes(ctx.engine)
    if args.json:
        emit_json({"project": project.name, "findings": [f.to_json(_path) for f in findings], "notes": notes,
                   # who listens on each port inside the shared network namespaces, and how we know
                   "listeners": [asdict(one) for one in listeners]})
    else:
        for f in findings:
            print(f.text(_path))
        for note in notes:
            print(f"note: {note}")
        if not findings:
            what = "compose files" if args.static else "compose files, host ports and running namespaces"
            print(f"project {project.name}: no findings ({what} checked)")
    return 1 if findings else 0
