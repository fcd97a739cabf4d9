"""The StackApp's everyday keys and feeds: shell (`e`), details (`d`), log filter (`&`) and save
(`ctrl+s`), the resource figures every few seconds, and the settings file (theme, keymap).

A part of the app (`app.everyday`): the Bindings' actions on the app hand over to it, and app.py
calls in at its seams (mount, live start, stop).
"""
from __future__ import annotations

import itertools

from typing import TYPE_CHECKING

from textual.message import Message

from stacktui.core.errors import StackError
from stacktui.ui.background import job
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    from stacktui.core.compose.model import Project
    from stacktui.core.engine.client import ContainerInfo, Engine
    from stacktui.core.ops.shell import ShellCommand
    from stacktui.core.resources.figures import Figures
    from stacktui.core.resources.monitor import ResourceMonitor
    from stacktui.ui.app import StackApp


FIGURES_ALL = 40  # containers read every round whatever is on screen
FIGURES_FULL_EVERY = 5  # past that, every container every 5th round (10 s by default)

class FiguresArrived(Message):
    def __init__(self, figures: dict[str, "Figures"]) -> None:
        super().__init__()
        self.figures = figures

    def can_replace(self, message: Message) -> bool:  # only the newest reading matters
        return isinstance(message, FiguresArrived)


class Everyday(Part):
    """The settings applied at mount, the resource figures' feed, and the everyday keys."""

    def __init__(self, app: "StackApp") -> None:
        super().__init__(app)
        self.monitor: "ResourceMonitor | None" = None
        # The newest reading, drawn with the next uptime tick or log flush (show_pending_figures).
        self.figures_pending: "dict[str, Figures] | None" = None

    # -- settings -----------------------------------------------------------------------------------

    def apply_settings(self) -> None:
        """Theme and keymap from config.toml; an invalid file is said once and the defaults used."""
        app = self.app
        app.theme = app.settings.theme
        if app.settings.keys:  # only what the file remaps: the Bindings' own keys are the defaults
            app.update_keymap(dict(app.settings.keys))
        app.user_commands.install()  # [[commands]]: their keys, and the entries left out said
        if app.settings_problem is not None:
            app.notify(f"{app.settings_problem}; using the defaults", title="config.toml", severity="error",
                       timeout=15)

    # -- resource figures ---------------------------------------------------------------------------

    def start_figures(self) -> None:
        """Every resource_refresh seconds from core's thread; the table writes the cells that changed."""
        app = self.app
        engine = app.engine
        if app.settings.resource_refresh <= 0 or engine is None or self.monitor is not None:
            return
        from stacktui.core.resources.monitor import ResourceMonitor

        rounds = itertools.count(1)

        def containers() -> "list[ContainerInfo]":
            # A reading costs six small files a container (200 running: 50 ms of CPU every round,
            # 2-3% of a core at idle). Past FIGURES_ALL containers, the rows on screen are read every
            # round and the others every FIGURES_FULL_EVERY rounds.
            snapshot = app.snapshot
            every = list(snapshot.containers) if snapshot is not None else []
            wanted = app.table.figures_wanted
            if len(every) <= FIGURES_ALL or wanted is None or next(rounds) % FIGURES_FULL_EVERY == 0:
                return every
            return [c for c in every if c.service in wanted]

        app.table.start_figures()
        self.monitor = ResourceMonitor(engine, containers, lambda f: self.post(FiguresArrived(f)),
                                       interval=app.settings.resource_refresh).start()

    def stop_figures(self, timeout: float = 0.5) -> None:
        if self.monitor is not None:
            self.monitor.stop(timeout=timeout)

    def forget_figures(self) -> None:
        """The project is left: its monitor stops (not waited for) and its last reading is dropped."""
        self.stop_figures(timeout=0)
        self.monitor = None
        self.figures_pending = None

    def figures_arrived(self, message: FiguresArrived) -> None:
        # Drawn with the next uptime tick or log flush (within a second), not in a frame of their
        # own: a frame costs the same whatever it holds, and at idle the figures' own frames were
        # most of what they cost (headless: +0.5% of a core for the demo stack, now about +0.1%).
        self.figures_pending = message.figures

    def show_pending_figures(self) -> None:
        from stacktui.ui.detail import DetailScreen

        figures, self.figures_pending = self.figures_pending, None
        if figures is None:
            return
        app = self.app
        app.table.show_figures(figures)
        if isinstance(app.screen, DetailScreen):
            app.screen.refresh_figures()

    # -- keys ---------------------------------------------------------------------------------------

    def details(self) -> None:
        from stacktui.ui.detail import DetailScreen

        app = self.app
        service = app.table.selected_service
        if not service:
            return
        monitor = self.monitor
        if monitor is None:
            app.notify("resource figures are off (resource_refresh = 0 in config.toml)", severity="warning")
            return
        minutes = monitor.history.points * monitor.interval / 60
        actions = app.actions
        latency = (lambda: actions.latency_lines(service)) if actions is not None else None
        app.push_screen(DetailScreen(service, monitor.history, lambda: app.table.figures_of(service), minutes,
                                     latency))

    def shell(self) -> None:
        app = self.app
        service = app.table.selected_service
        if not service or app.engine is None or app.project is None:
            app.notify("still loading the project", severity="warning")
            return
        snapshot = app.snapshot
        self._prepare_shell(app.project, app.engine, service,
                            list(snapshot.containers) if snapshot is not None else None)

    @job("shell", project=False, exclusive=True)
    def _prepare_shell(self, project: "Project", engine: "Engine", service: str,
                       containers: "list[ContainerInfo] | None") -> None:
        from stacktui.core.ops.shell import shell_command

        try:
            command = shell_command(project, engine, service, containers=containers)
        except StackError as exc:
            self.app.call_from_thread(self._shell_refused, exc)
            return
        self.app.call_from_thread(self._run_shell, command)

    def _shell_refused(self, error: StackError) -> None:
        from stacktui.ui.shell import shell_failed

        shell_failed(self.app, error)

    def _run_shell(self, command: "ShellCommand") -> None:
        from stacktui.ui.shell import run_shell

        app = self.app
        code = run_shell(app, command)
        app.refresh(layout=True)
        if code not in (None, 0, 130):
            app.notify(f"the shell in {command.service} ended with exit code {code}", timeout=4)

    def filter(self) -> None:
        if self.app.in_front():
            self.app.pane.open_filter()

    def save(self) -> None:
        self.app.pane.save()
