"""The user's own commands ([[commands]] in config.toml) in the TUI: on their keys, in the palette and in `?`.

Each command with a key is bound at start with App.bind to `user_command(INDEX)`; a key that
clashes was refused when the file was read (core.userconf), and that command left out with a
notification. Running one: its placeholders are filled in a thread worker (the engine's
containers are asked), then an `interactive` command gets the terminal as `e`'s shell does
(ui.shell), and an `output` one runs in a thread worker, bounded, while a dialog says so, then
shows its text (ui.outputdialog) and its exit code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from textual.app import SystemCommand
from textual.binding import Binding

from stacktui.core.errors import StackError
from stacktui.core.sanitize import printable
from stacktui.ui.background import job
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    from stacktui.core.compose.model import Project
    from stacktui.core.engine.client import ContainerInfo, Engine
    from stacktui.core.ops.usercommand import Prepared
    from stacktui.ui.outputdialog import OutputScreen
    from stacktui.core.userconf import UserCommand


class UserCommands(Part):
    """The commands' keys, palette entries, help rows and running them."""

    def install(self) -> None:
        """Bind the commands' keys; say each entry of the file that was left out."""
        app = self.app
        for index, command in enumerate(app.settings.commands):
            if command.key:
                app.bind(command.key, f"user_command({index})", description=command.name, show=False)
        for problem in app.settings.problems:
            app.notify(f"{problem}; that entry is left out", title="config.toml", severity="error", timeout=15,
                       markup=False)

    def help_rows(self) -> list[tuple[str, str]]:
        """(key, what) for `?`: each command, its key or the palette."""
        app = self.app
        return [(app.get_key_display(Binding(c.key, "")) if c.key else "ctrl+p", _describe(c))
                for c in app.settings.commands]

    def palette_entries(self) -> Iterable[SystemCommand]:
        app = self.app
        for index, command in enumerate(app.settings.commands):
            async def run(index: int = index) -> None:
                await app.run_action(f"user_command({index})")

            shown = f" ({app.get_key_display(Binding(command.key, ''))})" if command.key else ""
            yield SystemCommand(f"{command.name}{shown}: your command", _describe(command), run)

    def run(self, index: int) -> None:
        app = self.app
        commands = app.settings.commands
        if not 0 <= index < len(commands):
            return
        command = commands[index]
        if app.project is None or app.engine is None:
            app.notify("still loading the project", severity="warning")
            return
        service = app.table.selected_service if command.needs_service or command.services else None
        if command.needs_service and not service:
            app.notify(f"{command.name} runs on a service: select one first", severity="warning")
            return
        if not command.offered_on(service):
            app.notify(f"{command.name} is offered on {', '.join(command.services)}, not on {service}",
                       severity="warning", timeout=6, markup=False)
            return
        snapshot = app.snapshot
        self._prepare(app.project, app.engine, command, service,
                      list(snapshot.containers) if snapshot is not None else None)

    @job("your command", project=False)
    def _prepare(self, project: "Project", engine: "Engine", command: "UserCommand", service: str | None,
                 containers: "list[ContainerInfo] | None") -> None:
        from stacktui.core.ops.usercommand import prepare

        app = self.app
        try:
            prepared = prepare(project, engine, command, service, containers=containers)
        except StackError as exc:
            app.call_from_thread(app.notify, printable(str(exc)), title=command.name, severity="warning",
                                 timeout=8, markup=False)
            return
        app.call_from_thread(self._start, prepared, engine)

    def _start(self, prepared: "Prepared", engine: "Engine") -> None:
        app = self.app
        command = prepared.command
        if prepared.interactive:
            from stacktui.ui.shell import run_foreground

            code = run_foreground(app, f"{command.name} {prepared.where}: {prepared.text}", prepared.argv,
                                  prepared.env)
            app.refresh(layout=True)
            if code not in (None, 0, 130):
                app.notify(f"{command.name} ended with exit code {code}", timeout=4, markup=False)
            return
        from stacktui.ui.outputdialog import OutputScreen  # the dialog's widgets, when first needed

        screen = OutputScreen(f"{command.name} {prepared.where}", prepared.text)
        app.push_screen(screen)
        self._run_output(prepared, screen, engine)

    @job("your command", project=False)
    def _run_output(self, prepared: "Prepared", screen: "OutputScreen", engine: "Engine") -> None:
        from stacktui.core.ops.usercommand import run_output

        try:
            output = run_output(prepared, engine)
        except StackError as exc:
            self.app.call_from_thread(screen.failed, exc)
            return
        self.app.call_from_thread(screen.show, output)


def _describe(command: "UserCommand") -> str:
    where = "in the selected service's container" if command.in_container else "on the host"
    offered = f" (on {', '.join(command.services)})" if command.services else ""
    shown = "the TUI steps aside" if command.mode == "interactive" else "its output in a dialog"
    return f"{command.name}: {printable(command.template, limit=60)} {where}{offered}; {shown}"
