"""The stacktui Textual app: it draws and dispatches; core does the work.

The app is handed its core objects (project, engine, compose target, and a
StackOperations for restart/layout/check), or a loader that produces them, which
runs in a thread worker so the first frame does not wait for Compose or the
engine. The running stack (engine events, log followers, their store) is one
core LiveStack the app subscribes to. Its concerns are parts held as named fields
(ui.parts), each with its own state: `feed` (what the LiveStack publishes, onto the
screen, ui.livefeed), `flows` (restart and layout changes, ui.flows), `files` (the
compose files on disk, ui.filewatch), `heal` (`H`, ui.healing), `everyday` (settings,
figures, `e`, `d`, `&`, `ctrl+s`), `user_commands` and `kube` (`K`). The keys are the
app's Bindings (ui.keys); each action hands over to its part in one line.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, TypedDict

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from stacktui.core.errors import StackError
from stacktui.core.live.stack import LiveStack
from stacktui.core.live.store import LogStore
from stacktui.core.live.watcher import Connection, Snapshot
from stacktui.core.settings import Settings
from stacktui.ui.everyday import Everyday, FiguresArrived
from stacktui.ui.operations import FindingView, StackOperations
from stacktui.ui.filewatch import FileWatch, reader
from stacktui.ui.findings import FindingsPanel
from stacktui.ui.flows import ChangeEnded, ChangeFlows, ModelSwitched
from stacktui.ui.healing import HealSaid, HealToggle, HookSaid
from stacktui.ui.usercommands import UserCommands
from stacktui.ui.keys import BINDINGS, FIELD_ACTIONS, help_rows
from stacktui.ui.kubeview import KubeExport
from stacktui.ui.livefeed import TICK_INTERVAL, ConnectionChanged, LiveFeed, LogsPending, SnapshotArrived
from stacktui.ui.logpane import DEFAULT_VIEW_LINES, LogPane
from stacktui.ui.palette import binding_commands
from stacktui.ui.rowtable import RowTable
from stacktui.ui.services import ServicesTable, utcnow
from stacktui.ui.tuning import ProcessTuning
from stacktui.ui.background import Jobs, job

if TYPE_CHECKING:
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.engine.client import ContainerInfo, Engine
    from stacktui.core.live.logs import LogHub
    from stacktui.core.compose.model import Project
    from stacktui.core.live.watcher import Watcher


def _css_path() -> str:
    """The stylesheet: the checkout's own when running from one (PYTHONPATH), else the installed copy."""
    checkout = Path(__file__).resolve().parents[2] / "assets" / "stacktui.tcss"
    if checkout.is_file():
        return str(checkout)
    from importlib.resources import files

    return str(files("stacktui.assets") / "stacktui.tcss")


CSS_PATH = _css_path()
# A loader returns project, engine, target and a first listing of the containers (None: the
# watcher's first listing gives the rows).
Loaded = tuple["Project", "Engine | None", "ComposeTarget | None", "list[ContainerInfo] | None"]


def default_log_service(project: "Project") -> str | None:
    """The first service that joins another's namespace (mcp-server in the reference stack)."""
    for name, spec in project.services.items():
        if spec.namespace_targets():
            return name
    return next(iter(project.services), None)


class AppOptions(TypedDict, total=False):
    """StackApp's options beside its project and loader (ui.switch's app passes them on)."""

    target: "ComposeTarget | None"
    actions: StackOperations | None
    store: LogStore | None
    live: bool
    clock: Callable[[], datetime] | None
    log_history: int | str
    view_lines: int
    probe_interval: float | None
    engine_label: str | None
    reload: Callable[[], "Project"] | None
    log_since: str | None
    settings: Settings | None
    settings_problem: StackError | None


class StackApp(App[int]):
    CSS_PATH = CSS_PATH
    TITLE = "stacktui"
    # Ctrl+P: every action with its current key (ui.palette), the themes, a screenshot.
    BINDINGS = BINDINGS

    def __init__(self, project: "Project | None" = None, engine: "Engine | None" = None, *,
                 target: "ComposeTarget | None" = None, actions: StackOperations | None = None,
                 loader: Callable[[], Loaded] | None = None, store: LogStore | None = None,
                 live: bool = True, clock: Callable[[], datetime] | None = None,
                 log_history: int | str = 1000, view_lines: int = DEFAULT_VIEW_LINES,
                 probe_interval: float | None = 5.0, engine_label: str | None = None,
                 reload: Callable[[], "Project"] | None = None, log_since: str | None = None,
                 settings: Settings | None = None, settings_problem: StackError | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.settings_problem = settings_problem
        if project is None and loader is None:
            raise TypeError("StackApp needs a project and engine, or a loader")
        self.project = project
        self.engine = engine
        self.target = target
        self.actions = actions
        self.loader = loader
        self.live_stack = LiveStack(store if store is not None else LogStore(), history=log_history,
                                    probe_interval=probe_interval, since=log_since)
        self.live = live
        self.clock = clock or utcnow
        self.tuning = ProcessTuning()  # undone in on_unmount
        self.jobs = Jobs(self)  # the workers of the methods decorated with @job
        self.view_lines = view_lines
        self.engine_label = engine_label
        self.reload = reload
        self.engine_version = ""
        self.snapshot: Snapshot | None = None
        self.connection: Connection | None = None
        self.findings: list[FindingView] = []
        self.busy: str | None = None  # the change flow in progress; one at a time (ChangeFlows claims it)
        self.load_error: StackError | None = None
        self.first_rows_at: float | None = None
        # The main screen, held once at mount: while a modal is on top, App.query_one would search the modal.
        self.main_screen: Screen[object]
        # The app's parts, each with its own state.
        self.feed = LiveFeed(self)
        self.flows = ChangeFlows(self)
        self.files = FileWatch(self)
        self.heal = HealToggle(self)
        self.everyday = Everyday(self)
        self.user_commands = UserCommands(self)
        self.kube = KubeExport(self)

    # The core objects, as the LiveStack holds them (tests and diagnostics read them here).
    @property
    def store(self) -> LogStore:
        return self.live_stack.store

    @property
    def watcher(self) -> "Watcher | None":
        return self.live_stack.watcher

    @property
    def hub(self) -> "LogHub | None":
        return self.live_stack.hub

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        banner = Static(id="banner")
        banner.display = False
        yield banner
        yield ServicesTable(id="services")
        yield FindingsPanel(id="findings")
        yield LogPane(self.store, list(self.project.services) if self.project else [], view_lines=self.view_lines,
                      id="logpane")
        yield Footer(compact=True, show_command_palette=True)

    @property
    def table(self) -> ServicesTable:
        return self.main_screen.query_one(ServicesTable)

    @property
    def pane(self) -> LogPane:
        return self.main_screen.query_one(LogPane)

    @property
    def findings_panel(self) -> FindingsPanel:
        return self.main_screen.query_one(FindingsPanel)

    def on_mount(self) -> None:
        self.main_screen = self.screen
        self.everyday.apply_settings()
        self.feed.mounted()
        if self.main_screen.query("#services"):  # ui.switch's app starts with none: they come with a project
            self.table.focus()
            self.draw_topbar()
            self.pane.update_title()
        if self.project is not None:
            self._attach_project(self.project, self.engine, self.target)
        else:
            self._begin_loading()
        # One timer for both once-a-second jobs: each Timer is a task of its own waking the loop.
        self.set_interval(TICK_INTERVAL, self._each_second)

    def _each_second(self) -> None:
        self.feed.tick()
        self.files.check()

    def _begin_loading(self) -> None:
        """The loader's result now if it is ready, else from a thread worker (ui.switch opens a
        project chosen on the projects screen this way too)."""
        loader = self.loader
        assert loader is not None
        done = getattr(loader, "done", None)  # commands/tui.py's loader runs in the background already
        if done is not None and done():
            # Loaded while Textual was importing (the usual case): the first frame is then the
            # full one, instead of an empty table laid out and drawn, then everything again.
            self._load_now(loader)
        else:
            self._load(loader)

    def _load_undo(self, error: BaseException) -> bool:
        self._load_failed(error)
        return True  # said by _load_failed, as the app needs it

    @job("could not open the project", undo=_load_undo)
    def _load(self, loader: Callable[[], Loaded]) -> None:
        self.call_from_thread(self._attach_project, *loader())

    def _load_now(self, loader: Callable[[], Loaded]) -> None:
        try:
            loaded = loader()
        except Exception as error:  # as the load worker's failure
            self._load_failed(error)
            return
        self._attach_project(*loaded)

    def _load_failed(self, error: BaseException) -> None:
        """No project or no engine: the message is printed once the screen is restored."""
        self.load_error = error if isinstance(error, StackError) else StackError(str(error))
        self.exit(self.load_error.exit_code)

    def _attach_project(self, project: "Project", engine: "Engine | None", target: "ComposeTarget | None",
                        containers: "list[ContainerInfo] | None" = None) -> None:
        """Project and engine are known: draw what is known and start following the engine."""
        self.project, self.engine, self.target = project, engine, target
        self.files.loaded(project)
        if self.actions is None and engine is not None:
            self.actions = StackOperations(project, engine, target, reload=self.reload or reader(target))
        if containers is None:  # the rows come from the watcher's first listing: names until then
            self.table.placeholder(project.services)
        self.store.drain()  # whatever is stored already is drawn by show() below
        self.feed.subscribe()
        pane = self.pane
        pane.set_services(list(project.services))
        pane.show(default_log_service(project))
        self.draw_topbar()
        if containers is not None:
            from stacktui.core.health.status import collect

            self.show_snapshot(Snapshot(collect(project, containers), containers))
        self.call_after_refresh(self.tuning.started)
        if self.live and engine is not None:
            # Once this frame is drawn: the watcher's listing and the log readers' history (1000
            # lines a container) are threads, and the GIL they take would come out of the first frame;
            # the log readers' modules are imported then too.
            self.call_after_refresh(self._start_live)

    def _start_live(self) -> None:
        if self.project is None or self.engine is None or self.live_stack.stopped:
            return
        self.live_stack.attach(self.project, self.engine)  # the project as it is now (a reload may have come)
        if self.live_stack.start(self.snapshot):
            self.everyday.start_figures()
            if self.settings.heal:  # config.toml's `heal = true`: on from the start (H turns it off)
                self.heal.set(True, quiet=True)
            else:
                self.heal.start_hooks()
            self._engine_version(self.engine)

    @job("engine")
    def _engine_version(self, engine: "Engine") -> None:
        version = str(engine.version().get("Version", ""))
        self.call_from_thread(self._set_engine_version, version)

    def _set_engine_version(self, version: str) -> None:
        self.engine_version = version
        self.draw_topbar()

    def draw_topbar(self) -> None:
        text = Text()
        if self.connection is not None:
            text.append("\u25cf " if self.connection.connected else "\u25cb ",
                        style="green" if self.connection.connected else "bold red")
        text.append("stacktui", style="bold")
        if self.project is None:
            text.append("  loading the project\u2026", style="italic")
        else:
            text.append("  project ", style="dim")
            text.append(self.project.name, style="bold")
            if self.project.read_only:
                text.append(" (attached, read-only)", style="yellow")
        host = self.engine_label or (self.engine.host if self.engine is not None else None)
        if host:
            text.append("  engine ", style="dim")
            text.append(short_host(str(host)))
            if self.engine_version:
                text.append(f" {self.engine_version}", style="dim")
        if self.heal.on:
            text.append("  heal on", style="bold green")
        if self.connection is not None and not self.connection.connected:
            text.append("  disconnected", style="bold red")
        self.main_screen.query_one("#topbar", Static).update(text)

    # -- what core publishes, and what tests draw directly (ui.livefeed) ----------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.feed.show_snapshot(snapshot)

    def show_findings(self, findings: list[FindingView], at: datetime | None = None) -> None:
        self.feed.show_findings(findings, at)

    def flush_logs_now(self) -> None:
        """Draw what is waiting without the batching delay (tests, and before a screenshot)."""
        self.feed.flush_logs()

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.feed.snapshot_arrived(message)

    def on_logs_pending(self, message: LogsPending) -> None:
        self.feed.schedule_flush()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.feed.connection_changed(message)

    def on_figures_arrived(self, message: FiguresArrived) -> None:
        self.everyday.figures_arrived(message)

    def on_findings_panel_fix_requested(self, message: FindingsPanel.FixRequested) -> None:
        self.flows.fix_requested(message)

    def on_model_switched(self, message: ModelSwitched) -> None:
        self.flows.model_switched(message)

    def on_change_ended(self, message: ChangeEnded) -> None:
        self.flows.change_ended(message)

    def on_heal_said(self, message: HealSaid) -> None:
        self.heal.heal_said(message)

    def on_hook_said(self, message: HookSaid) -> None:
        self.heal.hook_said(message)

    # -- workers' failures become notifications ---------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    # -- the palette: every action with its key, the user's commands, then Textual's own ---------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from binding_commands(self, self.settings.keys)
        yield from self.user_commands.palette_entries()
        yield from super().get_system_commands(screen)  # Theme, Keys, Screenshot

    # -- keys: each action hands over to the part it belongs to --------------------------------------------

    def on_row_table_row_selected(self, event: RowTable.RowSelected) -> None:
        if event.table.id == "services":
            self.pane.show(event.row_key)

    def action_logs_selected(self) -> None:
        service = self.table.selected_service
        if service:
            self.pane.show(service)

    def action_merged(self) -> None:
        self.pane.show(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in FIELD_ACTIONS and isinstance(self.focused, Input):
            return False  # typed into the field that has the keys
        return True

    def in_front(self) -> bool:
        """Whether the main screen has the keys (no dialog over it)."""
        return self.screen is self.screen_stack[0]

    def action_search(self) -> None:
        if self.in_front():
            self.pane.open_search()

    def action_next_match(self) -> None:
        self.pane.next_match(+1)

    def action_previous_match(self) -> None:
        self.pane.next_match(-1)

    def action_follow(self) -> None:
        self.pane.toggle_follow()

    def action_timestamps(self) -> None:
        self.pane.toggle_timestamps()

    def action_wrap(self) -> None:
        self.pane.toggle_wrap()

    def action_check(self) -> None:
        self.feed.start_check(refresh=self.live)

    def action_restart(self) -> None:
        self.flows.restart()

    def action_restart_all(self) -> None:
        self.flows.restart_all()

    def action_separate(self) -> None:
        self.flows.separate()

    def action_share(self) -> None:
        self.flows.share()

    def action_undo(self) -> None:
        self.flows.undo()

    def action_heal(self) -> None:
        self.heal.toggle()

    def action_kube_export(self) -> None:
        self.kube.start()

    def action_details(self) -> None:
        self.everyday.details()

    def action_shell(self) -> None:
        self.everyday.shell()

    def action_filter(self) -> None:
        self.everyday.filter()

    def action_save(self) -> None:
        self.everyday.save()

    def action_user_command(self, index: int) -> None:
        self.user_commands.run(index)

    def action_help(self) -> None:
        from stacktui.ui.modals import HelpScreen

        self.push_screen(HelpScreen(help_rows(self) + self.user_commands.help_rows()))

    def action_projects(self) -> None:
        """A project's app alone (tests, the benchmarks) has no projects screen; `stacktui` builds
        ui.switch's app, whose `p` shows it."""
        self.notify("no projects screen in this app: `stacktui projects` lists every project",
                    severity="information", timeout=6)

    async def action_quit(self) -> None:
        self.stop_core()
        self.exit(0)

    def stop_core(self) -> None:
        self.heal.stop(closing=True)
        self.live_stack.stop(wait=0.5)
        self.everyday.stop_figures()

    def on_unmount(self) -> None:
        self.stop_core()
        self.tuning.restore()


def short_host(host: str, room: int = 32) -> str:
    """unix:///a/long/path/to/docker.sock -> unix://…/to/docker.sock: the end is what tells engines apart."""
    if len(host) <= room:
        return host
    scheme, sep, rest = host.partition("://")
    if not sep:
        return "\u2026" + host[-(room - 1):]
    keep = max(8, room - len(scheme) - 4)
    return f"{scheme}://\u2026{rest[-keep:]}"
