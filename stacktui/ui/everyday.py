"""The StackApp's everyday keys and feeds: shell (`e`), details (`d`), log filter (`&`) and save
(`ctrl+s`), the resource figures every few seconds, and the settings file (theme, keymap).

A mixin, so the Bindings find these actions on the app, while app.py only calls in at its
seams (mount, live start, stop, the palette) and this concern stays in one module.
"""
from __future__ import annotations

import itertools

from typing import TYPE_CHECKING, Any, Iterable

from textual.message import Message

from stacktui.core.errors import StackError
from stacktui.core.settings import Settings
from stacktui.ui.background import job
from stacktui.ui.palette import binding_commands

if TYPE_CHECKING:
    from textual.app import SystemCommand
    from textual.screen import Screen

    from stacktui.core.engine.client import ContainerInfo
    from stacktui.core.ops.shell import ShellCommand
    from stacktui.core.resources.figures import Figures
    from stacktui.core.resources.monitor import ResourceMonitor


FIGURES_ALL = 40  # containers read every round whatever is on screen
FIGURES_FULL_EVERY = 5  # past that, every container every 5th round (10 s by default)

class FiguresArrived(Message):
    def __init__(self, figures: dict[str, "Figures"]) -> None:
        super().__init__()
        self.figures = figures

    def can_replace(self, message: Message) -> bool:  # only the newest reading matters
        return isinstance(message, FiguresArrived)


class EverydayMixin:
    settings: Settings = Settings()
    settings_problem: StackError | None = None
    monitor: "ResourceMonitor | None" = None

    # -- settings -----------------------------------------------------------------------------------

    def apply_settings(self) -> None:
        """Theme and keymap from config.toml; an invalid file is said once and the defaults used."""
        app: Any = self
        app.theme = self.settings.theme
        if self.settings.keys:  # only what the file remaps: the Bindings' own keys are the defaults
            app.update_keymap(dict(self.settings.keys))
        app.install_user_commands()  # [[commands]]: their keys, and the entries left out said
        if self.settings_problem is not None:
            app.notify(f"{self.settings_problem}; using the defaults", title="config.toml", severity="error",
                       timeout=15)

    def get_system_commands(self, screen: "Screen") -> Iterable["SystemCommand"]:
        yield from binding_commands(self, self.settings.keys)  # type: ignore[arg-type]
        yield from self.user_command_entries()  # type: ignore[attr-defined]
        yield from super().get_system_commands(screen)  # type: ignore[misc]  # Theme, Keys, Screenshot

    # -- resource figures ---------------------------------------------------------------------------

    def start_figures(self) -> None:
        """Every resource_refresh seconds from core's thread; the table writes the cells that changed."""
        app: Any = self
        if self.settings.resource_refresh <= 0 or app.engine is None or self.monitor is not None:
            return
        from stacktui.core.resources.monitor import ResourceMonitor

        rounds = itertools.count(1)

        def containers() -> list[Any]:
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
        self.monitor = ResourceMonitor(app.engine, containers, lambda f: app.post_message(FiguresArrived(f)),
                                       interval=self.settings.resource_refresh).start()

    def stop_figures(self) -> None:
        if self.monitor is not None:
            self.monitor.stop(timeout=0.5)

    def on_figures_arrived(self, message: FiguresArrived) -> None:
        # Drawn with the next uptime tick or log flush (within a second), not in a frame of their
        # own: a frame costs the same whatever it holds, and at idle the figures' own frames were
        # most of what they cost (headless: +0.5% of a core for the demo stack, now about +0.1%).
        self._figures_pending = message.figures

    _figures_pending: "dict[str, Figures] | None" = None

    def show_pending_figures(self) -> None:
        from stacktui.ui.detail import DetailScreen

        figures, self._figures_pending = self._figures_pending, None
        if figures is None:
            return
        app: Any = self
        app.table.show_figures(figures)
        if isinstance(app.screen, DetailScreen):
            app.screen.refresh_figures()

    # -- keys ---------------------------------------------------------------------------------------

    def action_details(self) -> None:
        from stacktui.ui.detail import DetailScreen

        app: Any = self
        service = app.table.selected_service
        if not service:
            return
        if self.monitor is None:
            app.notify("resource figures are off (resource_refresh = 0 in config.toml)", severity="warning")
            return
        minutes = self.monitor.history.points * self.monitor.interval / 60
        actions = app.actions
        latency = (lambda: actions.latency_lines(service)) if actions is not None else None
        app.push_screen(DetailScreen(service, self.monitor.history, lambda: app.table.figures_of(service), minutes,
                                     latency))

    def action_shell(self) -> None:
        app: Any = self
        service = app.table.selected_service
        if not service or app.engine is None or app.project is None:
            app.notify("still loading the project", severity="warning")
            return
        snapshot = app.snapshot
        self._prepare_shell(service, list(snapshot.containers) if snapshot is not None else None)

    @job("shell", project=False, exclusive=True)
    def _prepare_shell(self, service: str, containers: "list[ContainerInfo] | None") -> None:
        from stacktui.core.ops.shell import shell_command

        app: Any = self
        try:
            command = shell_command(app.project, app.engine, service, containers=containers)
        except StackError as exc:
            app.call_from_thread(self._shell_refused, exc)
            return
        app.call_from_thread(self._run_shell, command)

    def _shell_refused(self, error: StackError) -> None:
        from stacktui.ui.shell import shell_failed

        shell_failed(self, error)  # type: ignore[arg-type]

    def _run_shell(self, command: "ShellCommand") -> None:
        from stacktui.ui.shell import run_shell

        app: Any = self
        code = run_shell(app, command)
        app.refresh(layout=True)
        if code not in (None, 0, 130):
            app.notify(f"the shell in {command.service} ended with exit code {code}", timeout=4)

    def action_filter(self) -> None:
        app: Any = self
        if app.in_front():
            app.pane.open_filter()

    def action_save(self) -> None:
        app: Any = self
        app.pane.save()
