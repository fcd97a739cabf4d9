"""The TUI served to web browsers by textual-serve, bounded: every session's process is ended and
reaped when the server stops, and the page loads nothing from outside this server.

textual-serve starts one process per browser connection (the command `stacktui serve` builds) and
relays its screen over a websocket to xterm.js in the page.
"""
from __future__ import annotations

import asyncio
import errno
import re
import socket
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import psutil
from textual_serve.server import Server

from stacktui.core.errors import ConfigError

# How long sessions get to quit on their own (each stops its watcher, followers and Compose) before
# they are killed.
SESSION_GRACE = 5.0

# The page's one outside request, the Roboto Mono stylesheet from Google's font service, becomes
# textual-serve's own copy of the font: the page then works offline and talks to this server only.
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", re.S)
_LOCAL_FONT = ('<style>@font-face { font-family: "Roboto Mono"; '
               'src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"); }</style>')


def public_url(host: str, port: int) -> str:
    """Where browsers reach the page: a wildcard address is no place to connect to, the host's name is."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_template(folder: Path) -> None:
    """textual-serve's page, with its remote stylesheet replaced by the font it ships."""
    page = (files("textual_serve") / "templates" / "app_index.html").read_text(encoding="utf-8")
    page, replaced = _REMOTE_LINK.subn("", page)
    if replaced:
        page = page.replace("</head>", f"{_LOCAL_FONT}\n</head>", 1)
    (folder / "app_index.html").write_text(page, encoding="utf-8")


def sessions() -> list[psutil.Process]:
    """Every process this server started, and theirs."""
    return psutil.Process().children(recursive=True)


def end_sessions(grace: float = SESSION_GRACE) -> None:
    """SIGTERM asks each session to quit (Textual's web driver exits cleanly on it and closes its
    page); what is still running after the grace period is killed; all of it is reaped."""
    procs = sessions()
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive + [p for p in sessions() if p not in procs]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(sessions(), timeout=grace)


class StackServer(Server):
    """textual-serve's server, saying where it listens in one line and ending its sessions on stop."""

    async def on_startup(self, app: Any) -> None:
        print(f"stacktui serve: open {self.public_url}/ (Ctrl-C stops the server and every session)",
              file=sys.stderr, flush=True)

    async def on_shutdown(self, app: Any) -> None:
        # Before aiohttp waits on the open websockets: each closes when its session has quit.
        await asyncio.to_thread(end_sessions)


def serve(command: str, host: str, port: int, url: str) -> int:
    """Serve until SIGINT or SIGTERM; return the exit code."""
    with tempfile.TemporaryDirectory(prefix="stacktui-serve-") as templates:
        write_template(Path(templates))
        server = StackServer(command, host=host, port=port, title="stacktui", public_url=url,
                             templates_path=templates)
        try:
            server.serve()
        except OSError as exc:  # taken between the check and the bind
            if exc.errno != errno.EADDRINUSE:
                raise
            from stacktui.core.ports.host import holder_of

            raise ConfigError(f"port {port} on {host} is in use by {holder_of(port)}",
                              hint="choose another with --port N, or stop that program") from None
        finally:
            end_sessions()
    return 0
