"""`stacktui config [--json]`: where the settings file is, and the settings in effect.

The output is itself a valid config.toml: copy it to the path shown and edit.
An invalid file is reported like any configuration error (exit 2) before this
command runs.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict

from stacktui.commands.context import Context, emit_json
from stacktui.core.settings import config_path, to_toml


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the settings file's path and the settings in effect")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    path = settings.path or config_path()
    if args.json:
        data = asdict(settings)
        data.update(path=str(path), found=settings.path is not None, keys=settings.keymap())
        emit_json(data)
        return 0
    state = "read" if settings.path is not None else "not there: every setting below is the default"
    print(f"# {path} ({state})")
    print(to_toml(settings), end="")
    return 0
