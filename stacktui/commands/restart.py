"""`stacktui restart`: see issue text; filled in by its feature work."""
from __future__ import annotations

import argparse

from stacktui.commands.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restart", help="(not built yet)")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    print("stacktui restart: not built yet")
    return 2
