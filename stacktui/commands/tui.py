"""`stacktui tui` (or no command): the Textual app on the project Compose would find, or, where
there is none (no compose file, no `-p`), the projects screen of every project on the engine(s).

Start-up is a race against the first frame: Compose's `config` (a subprocess)
and the engine client (docker-py's import and a ping) run in threads while this
thread imports Textual; the app draws at once and fills the table when they
are done. A configuration or engine error still ends with one clear message
and exit code 2, printed after the screen is restored.
"""
from __future__ import annotations

import argparse
import gc
from typing import Any

from stacktui.commands.context import Context
from stacktui.core.errors import StackError
from stacktui.core.loop import Once


OPTIONS = ("log_lines", "log_history", "log_since")
GLOBAL = "tui_"  # the dest prefix of the same options given before (or without) the `tui` command


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    add_options(p)
    p.set_defaults(run=run)


def add_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """The TUI's options; with a prefix, the global copies that `stacktui --log-history 20` (no command) uses."""
    also = " (also without the tui command)" if prefix else ""
    p.add_argument("--log-lines", dest=f"{prefix}log_lines", type=int, default=None, metavar="N",
                   help=f"log lines kept per service (default: log_lines in config.toml, else 20000){also}")
    p.add_argument("--log-history", dest=f"{prefix}log_history", type=_history, default=None, metavar="N",
                   help="lines of each container's past log fetched at start, or `all` "
                        f"(default: log_history in config.toml, else 1000){also}")
    p.add_argument("--log-since", dest=f"{prefix}log_since", metavar="DURATION",
                   help="history from this long ago (10m, 1h30m) instead of a number of lines "
                        f"(default: log_since in config.toml){also}")


def take_global_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The TUI's options given before the command: the TUI's when it opens (its own, after `tui`, win);
    with another command, a usage error naming the fix."""
    for name in OPTIONS:
        value = getattr(args, GLOBAL + name, None)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if args.command != "tui":
            parser.error(f"{flag} is an option of the TUI: `stacktui {flag} ...` or `stacktui tui {flag} ...`, "
                         f"not with {args.command}")
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def _history(value: str) -> int | str:
    if value == "all":
        return value
    try:
        lines = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of lines or `all`") from None
    if lines < 0:
        raise argparse.ArgumentTypeError("a number of lines cannot be negative")
    return lines


class _Background(Once[Any]):
    """Once, callable: the app calls what it is handed to get the loaded project."""

    def __init__(self, name: str, fn: Any) -> None:
        super().__init__(f"early-{name}", fn)

    def __call__(self) -> Any:
        return self.result()


def _options(ctx: Context, args: argparse.Namespace | None) -> dict[str, Any]:
    """The app's log options from the command line, else config.toml; a bad value is a usage error
    now, before any screen."""
    settings = ctx.settings
    log_lines = getattr(args, "log_lines", None)
    if log_lines is None:
        log_lines = settings.log_lines
    log_history = getattr(args, "log_history", None)
    if log_history is None:
        log_history = settings.log_history
    log_since = getattr(args, "log_since", None) or settings.log_since or None
    if log_since is not None:
        from stacktui.core.live.logtools import since_ns

        since_ns(log_since)
    if log_lines < 100:
        raise StackError(f"--log-lines {log_lines} is too small", hint="keep at least 100 lines per service")
    from stacktui.core.live.store import LogStore

    return dict(store=LogStore(max_lines=log_lines), log_history=log_history,
                probe_interval=settings.probe_interval or None, log_since=log_since, settings=settings,
                settings_problem=ctx.settings_problem)


def _loader(ctx: Context) -> _Background:
    """Project, engine, target and the first listing, loading in the background from now on."""
    target = ctx.target  # fast (file search only); its errors should come before any screen
    engine_job = _Background("engine", lambda: ctx.engine)
    project_job = _Background("project", lambda: ctx.project if target.files else None)
    # The first listing too, while the main thread is still importing Textual: the table can then be
    # filled the moment the app attaches (the watcher lists again once its events stream is open, so
    # nothing between the two is missed). Named already (-p, a project opened from the projects
    # screen), it is listed beside Compose's config instead of after it.
    name = target.project_name
    listing = _Background("listing", lambda: engine_job.result().project_containers(name)) if name else None

    def load() -> tuple[Any, Any, Any, Any]:
        engine = engine_job.result()
        project = project_job.result() or ctx.project  # attach mode needs the engine first
        if listing is not None and project.name == name:
            containers = listing.result()
        else:
            containers = engine.project_containers(project.name)
        # ctx.target, not `target`: a project attached with -p whose files are readable runs Compose on them.
        return project, engine, ctx.target, containers

    return _Background("load", load)


def build_app(ctx: Context, args: argparse.Namespace | None = None) -> Any:
    """The app exactly as `stacktui tui` builds it in a project folder (the benchmarks drive this one too):
    the project's screen first, and `p` shows the projects screen, this project's row selected."""
    options = _options(ctx, args)
    loaded = _loader(ctx)

    from stacktui.core.engine.client import Engine
    from stacktui.ui.switch import SwitchingApp  # Textual is imported only when the TUI opens

    return SwitchingApp(ctx.endpoints, Engine.connect, _opener(ctx), first=loaded, reload=ctx.reload,
                        engine_label=ctx.endpoint.label, **options)


def build_switching_app(ctx: Context, args: argparse.Namespace | None = None) -> Any:
    """The projects screen, whose Enter opens a project in the same app (ui.switch); as `stacktui`
    builds it outside any project folder (the benchmarks drive this one too)."""
    from stacktui.core.engine.client import Engine

    options = _options(ctx, args)
    early = {index: _early_listing(endpoint, Engine.connect) for index, endpoint in enumerate(ctx.endpoints)}

    from stacktui.ui.switch import SwitchingApp  # Textual, while the engines answer

    return SwitchingApp(ctx.endpoints, Engine.connect, _opener(ctx), early=early, **options)


def _opener(ctx: Context) -> Any:
    """What Enter on the projects screen calls: the chosen project's loader, begun at once."""
    def opener(choice: Any) -> Any:
        from stacktui.ui.switch import Opening

        # On the engine the projects screen connected: the app closes it with the others at the end.
        one = Context(project_name=choice.project, env_files=ctx.env_files, profiles=ctx.profiles,
                      contexts=ctx.contexts, _endpoints=[choice.endpoint], _engine=choice.engine)
        return Opening(loader=_loader(one), reload=one.reload, engine_label=one.endpoint.label)

    return opener


def _early_listing(endpoint: Any, connect: Any) -> tuple[_Background, _Background]:
    """An engine connected and its projects listed in threads from now on, while Textual is imported:
    the projects screen's first frame then has its rows instead of waiting for them after it."""
    engine = _Background("connect", lambda: connect(endpoint))

    def listing() -> Any:
        try:
            from stacktui.core.ops.projects import list_projects

            return list_projects(engine.result(), endpoint.label)
        except Exception:  # no engine, or the listing failed: the screen says so, listing as it always does
            return None

    return engine, _Background("projects", listing)


def run(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.compose.discovery import NoProject

    try:
        _ = ctx.target  # resolving it says whether there is a project here
    except NoProject:
        return projects(ctx, args)  # no compose file here and no -p: every project, to pick one
    return _run_app(ctx, args)


def _run_app(ctx: Context, args: argparse.Namespace, *, switching: bool = False) -> int:
    # Start-up allocates Textual's modules, CSS and widgets, all of which live as long as the
    # app: the cyclic collector walking them again and again cost a quarter of the start-up CPU
    # (measured 0.58 s -> 0.44 s). The app freezes what exists and turns it back on once the
    # first full frame is drawn.
    gc.disable()
    try:
        app = build_switching_app(ctx, args) if switching else build_app(ctx, args)
        app.run()
    finally:
        gc.enable()
    if app.load_error is not None and not switching:
        raise app.load_error
    return int(app.return_code or 0)


def projects(ctx: Context, args: argparse.Namespace) -> int:
    """The projects screen; Enter opens a project in the same app, whose `p` comes back (ui.switch)."""
    return _run_app(ctx, args, switching=True)
