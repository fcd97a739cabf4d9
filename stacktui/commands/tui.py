"""`stacktui tui` (or no command): the Textual app on the project Compose would find."""
from __future__ import annotations

import argparse

from stacktui.commands.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.ui.app import StackApp  # Textual is imported only when the TUI opens

    app = StackApp(project=ctx.project, engine=ctx.engine)
    app.run()
    return int(app.return_code or 0)
