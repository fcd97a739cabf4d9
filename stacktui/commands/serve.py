"""`stacktui serve [--port N] [--host ADDR]`: the same TUI in a web browser, through textual-serve.

Each browser tab that opens the page gets its own `stacktui tui` process, started with the global
options given here (`-f`, `-p`, `--context`, ...) in this folder. The page has no login: whoever
reaches it controls the engine. So it listens on 127.0.0.1 unless told otherwise, and any other
address is warned about, with an ssh tunnel as the way in from another machine.
"""
from __future__ import annotations

import argparse
import ipaddress
import shlex
import shutil
import sys
from pathlib import Path
from typing import Sequence

from stacktui.commands.context import Context
from stacktui.core.errors import ConfigError

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the TUI to a web browser (textual-serve), on 127.0.0.1 by default")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="N", help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST, metavar="ADDR",
                   help="address to listen on (default 127.0.0.1; any other is reachable without a login)")
    p.add_argument("--public-url", metavar="URL",
                   help="the address browsers use to reach the page, when it is not http://HOST:PORT "
                        "(a proxy in front); with an ssh tunnel, keep the same port on both ends")
    p.set_defaults(run=run)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def exposure_warning(host: str, port: int) -> str:
    return (f"stacktui serve: WARNING: listening on {host}:{port}. The page has no login: anyone who can reach "
            f"this address gets the TUI and with it control of the Docker engine (restart, recreate, shells in "
            f"containers). Prefer the default 127.0.0.1 and an ssh tunnel from your machine: "
            f"`ssh -L {port}:127.0.0.1:{port} USER@THIS-HOST`, then open http://127.0.0.1:{port}/")


def app_command(ctx: Context) -> str:
    """The command each browser session runs: this stacktui's TUI, with the global options given here."""
    argv = [sys.executable, "-m", "stacktui"]
    for name in ctx.contexts:
        argv += ["--context", name]
    for path in ctx.files:
        argv += ["-f", path]
    if ctx.project_name:
        argv += ["-p", ctx.project_name]
    if ctx.project_directory:
        argv += ["--project-directory", ctx.project_directory]
    for path in ctx.env_files:
        argv += ["--env-file", path]
    for profile in ctx.profiles:
        argv += ["--profile", profile]
    # exec: the shell textual-serve starts becomes the app, so the process it signals is the app itself.
    # setpriv (util-linux) gives it the parent-death signal: a serve that is killed outright takes its
    # sessions along (SIGTERM: each quits as on Ctrl-C, with its own children) instead of orphaning them.
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--pdeathsig", "TERM"] if setpriv and sys.platform == "linux" else []
    return "exec " + shlex.join([*prefix, *argv, "tui"])


def run(ctx: Context, args: argparse.Namespace) -> int:
    try:
        from stacktui.ui import webserve
    except ImportError as exc:
        raise ConfigError(f"`stacktui serve` needs textual-serve, which is not installed ({exc.name} is missing)",
                          hint="pip install 'stacktui[serve]', or `pipx inject stacktui textual-serve`") from None
    from stacktui.core.ports.host import bind_test, holder_of
    from stacktui.core.compose.discovery import NoProject

    try:
        files: Sequence[Path] = ctx.target.files
    except NoProject:
        files = []  # no project here: each page opens the projects screen
    if files:
        _ = ctx.project  # a compose file that does not load is said once here, not on every page opened

    if not is_loopback(args.host):
        print(exposure_warning(args.host, args.port), file=sys.stderr, flush=True)
    if bind_test(args.host, args.port, "tcp"):
        raise ConfigError(f"port {args.port} on {args.host} is in use by {holder_of(args.port)}",
                          hint="choose another with --port N, or stop that program")
    url = args.public_url or webserve.public_url(args.host, args.port)
    return webserve.serve(app_command(ctx), args.host, args.port, url)
