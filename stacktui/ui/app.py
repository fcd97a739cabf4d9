"""The stacktui Textual app: it draws and dispatches; core does the work.

The app is handed its core objects (project, engine, compose target, and a
StackActions for restart/layout/check), or a loader that produces them, which
runs in a thread worker so the first frame does not wait for Compose or the
engine. State arrives from core threads (the Watcher's engine events, the
LogHub's readers) as messages: one per state change, one per batch of log
lines, never one per line.
"""
from __future__ import annotations

import asyncio
import gc
import contextvars
import time
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from stacktui.core.errors import StackError
from stacktui.core.live.store import LogStore
from stacktui.core.compose.filestamp import files_stamp
from stacktui.core.live.watcher import Connection, EngineEvent, Snapshot
from stacktui.core.settings import Settings
from stacktui.ui.everyday import EverydayMixin
from stacktui.ui.actions import ChangeView, FindingView, Outcome, PlanView, StackActions, parse_fix
from stacktui.ui.findings import FindingsPanel
from stacktui.ui.logview import DEFAULT_VIEW_LINES, LogPane
from stacktui.ui.services import ServicesTable, utcnow

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
    return str(files("stacktui.assets") / "stacktui.tcss")


CSS_PATH = _css_path()
FLUSH_INTERVAL = 0.05  # log lines reach the screen in batches at most this old
# During a flood each frame costs the same whatever the batch holds (the visible lines are all new),
# so frames, not lines, are what to save: batches of this size or more mean the next one waits longer.
FLOOD_BATCH = 2000
FLOOD_INTERVAL = 0.15
CHECK_DELAY = 1.5  # after a state change, check again once things settle
FILES_INTERVAL = 1.0  # how often the compose files' stat is compared with the loaded model's
TICK_INTERVAL = 1.0  # how often the uptime column is refreshed; a log flush in between stands in for one
# A loader returns (project, engine, target), optionally with a first listing of the containers.
Loaded = tuple[Any, ...]


class SnapshotArrived(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:  # only the newest state matters
        return isinstance(message, SnapshotArrived)


class LogsPending(Message):
    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogsPending)


class ConnectionChanged(Message):
    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection


def _started() -> None:
    """The first full frame is drawn: what exists now (Textual, the widgets, the model) lives as long
    as the app. Frozen, the collector no longer walks it: during a log flood a full collection
    otherwise took 45-125 ms, a stall of every thread and of the keys (measured headless)."""
    gc.freeze()
    if not gc.isenabled():  # `stacktui tui` runs start-up without it
        gc.enable()


def default_log_service(project: "Project") -> str | None:
    """The first service that joins another's namespace (mcp-server in the reference stack)."""
    for name, spec in project.services.items():
        if spec.namespace_targets():
            return name
    return next(iter(project.services), None)


class StackApp(EverydayMixin, App[int]):
    CSS_PATH = CSS_PATH
    TITLE = "stacktui"
    # Ctrl+P: every action with its current key (ui.palette), the themes, a screenshot.
    BINDINGS = [
        Binding("r", "restart", "restart", id="restart"),
        Binding("R", "restart_all", "restart all", show=False, id="restart_all"),
        Binding("b", "separate", "split", id="separate"),
        Binding("s", "share", "share", id="share"),
        Binding("u", "undo", "undo", id="undo"),
        Binding("l", "logs_selected", "logs", show=False, id="logs"),
        Binding("m", "merged", "merged", id="merged"),
        Binding("slash", "search", "find", id="search"),
        Binding("n", "next_match", "next match", show=False, id="next_match"),
        Binding("N", "previous_match", "previous match", show=False, id="previous_match"),
        Binding("f", "follow", "follow", id="follow"),
        Binding("t", "timestamps", "timestamps", show=False, id="timestamps"),
        Binding("w", "wrap", "wrap", show=False, id="wrap"),
        Binding("c", "check", "check", id="check"),
        Binding("e", "shell", "shell", id="shell"),
        Binding("d", "details", "details", show=False, id="details"),
        Binding("ampersand", "filter", "filter", show=False, id="filter"),
        Binding("ctrl+s", "save", "save log", show=False, id="save"),
        Binding("question_mark", "help", "help", id="help"),
        Binding("q", "quit", "quit", id="quit"),
    ]

    def __init__(self, project: "Project | None" = None, engine: "Engine | None" = None, *,
                 target: "ComposeTarget | None" = None, actions: StackActions | None = None,
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
        self.store = store if store is not None else LogStore()
        self.live = live
        self.clock = clock or utcnow
        self.log_history = log_history
        self.log_since = log_since  # "10m": history from then on instead of log_history lines
        self.view_lines = view_lines
        self.probe_interval = probe_interval
        self.engine_label = engine_label
        self.reload = reload
        self.engine_version = ""
        self.watcher: Watcher | None = None
        self.hub: LogHub | None = None
        self.snapshot: Snapshot | None = None
        self.connection: Connection | None = None
        self.findings: list[FindingView] = []
        self.busy: str | None = None  # the change flow in progress; one at a time
        self.load_error: StackError | None = None
        self.created_at = time.perf_counter()
        self.first_rows_at: float | None = None
        self._flush_scheduled = False
        self._flush_interval = FLUSH_INTERVAL
        self._loop_for_logs: asyncio.AbstractEventLoop | None = None
        self._context_for_logs: contextvars.Context | None = None
        self._check_timer: Any = None
        self._files_stamp: tuple[Any, ...] | None = None  # the compose files as the model was loaded from them
        self._files_pending: tuple[Any, ...] | None = None  # a reload of changed files is running
        self._stopped = False
        self._ticked_since_timer = False  # a log flush refreshed the uptime since the timer last fired

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

    # The main screen's widgets, held once: while a modal is on top, App.query_one would search the modal.
    @property
    def table(self) -> ServicesTable:
        return self._main.query_one(ServicesTable)

    @property
    def pane(self) -> LogPane:
        return self._main.query_one(LogPane)

    @property
    def findings_panel(self) -> FindingsPanel:
        return self._main.query_one(FindingsPanel)

    def on_mount(self) -> None:
        self._main = self.screen
        self.apply_settings()
        self._loop_for_logs = asyncio.get_running_loop()
        self._context_for_logs = contextvars.copy_context()
        self.table.focus()
        self._draw_topbar()
        self.pane.update_title()
        if self.project is not None:
            self._attach(self.project, self.engine, self.target)
        elif getattr(self.loader, "done", lambda: False)():
            # Loaded while Textual was importing (the usual case): the first frame is then the
            # full one, instead of an empty table laid out and drawn, then everything again.
            self._load_now()
        else:
            self.run_worker(self._load, thread=True, exit_on_error=False, group="load", name="load")
        self.set_interval(TICK_INTERVAL, self._tick)
        self.set_interval(FILES_INTERVAL, self._check_files)

    def _load(self) -> None:
        assert self.loader is not None
        self.call_from_thread(self._attach, *self.loader())

    def _load_now(self) -> None:
        assert self.loader is not None
        try:
            loaded = self.loader()
        except Exception as error:  # as the load worker's failure
            self._load_failed(error)
            return
        self._attach(*loaded)

    def _load_failed(self, error: BaseException | None) -> None:
        """No project or no engine: the message is printed once the screen is restored."""
        self.load_error = error if isinstance(error, StackError) else StackError(str(error))
        self.exit(self.load_error.exit_code)

    @staticmethod
    def _reader(target: "ComposeTarget | None") -> Callable[[], "Project"] | None:
        """After a layout change the files are the truth: read them again the way they were found."""
        if target is None or not target.files:
            return None

        def read() -> "Project":
            from stacktui.core.loader import load_project

            return load_project(target)

        return read

    def _attach(self, project: "Project", engine: "Engine | None", target: "ComposeTarget | None",
                containers: "list[ContainerInfo] | None" = None) -> None:
        """Project and engine are known: draw what is known and start following the engine."""
        self.project, self.engine, self.target = project, engine, target
        self._files_stamp = files_stamp(project.files)
        if self.actions is None and engine is not None:
            self.actions = StackActions(project, engine, target, reload=self.reload or self._reader(target))
        self.table.placeholder(project.services)
        self.store.drain()  # whatever is stored already is drawn by show() below
        self.store.on_pending = self._lines_waiting
        pane = self.pane
        pane.set_services(list(project.services))
        pane.show(default_log_service(project))
        self._draw_topbar()
        if containers is not None:
            from stacktui.core.health.status import collect

            self.show_snapshot(Snapshot(collect(project, containers), containers))
        self.call_after_refresh(_started)
        if self.live and engine is not None:
            from stacktui.core.live.logs import LogHub
            from stacktui.core.live.watcher import Watcher

            from stacktui.core.live.logtools import since_ns

            self.hub = LogHub(engine, self.store, history=self.log_history,
                              since=since_ns(self.log_since) if self.log_since else None)
            self.watcher = Watcher(project, engine, on_snapshot=self._snapshot_from_core,
                                   on_event=self._event_from_core, on_connection=self._connection_from_core,
                                   probe_interval=self.probe_interval)
            # Once this frame is drawn: the watcher's listing and the log readers' history (1000
            # lines a container) are threads, and the GIL they take would come out of the first frame.
            self.call_after_refresh(self._start_live)

    def _start_live(self) -> None:
        if self._stopped or self.watcher is None or self.watcher.stopped:
            return
        self.watcher.start()
        self.start_figures()
        self.run_worker(self._engine_version, thread=True, exit_on_error=False, group="info")

    def _engine_version(self) -> None:
        assert self.engine is not None
        version = str(self.engine.version().get("Version", ""))
        self.call_from_thread(self._set_engine_version, version)

    def _set_engine_version(self, version: str) -> None:
        self.engine_version = version
        self._draw_topbar()

    def _draw_topbar(self) -> None:
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
        host = self.engine_label or (getattr(self.engine, "host", None) if self.engine is not None else None)
        if host:
            text.append("  engine ", style="dim")
            text.append(short_host(str(host)))
            if self.engine_version:
                text.append(f" {self.engine_version}", style="dim")
        if self.connection is not None and not self.connection.connected:
            text.append("  disconnected", style="bold red")
        self._main.query_one("#topbar", Static).update(text)

    # -- from core threads (these run on the watcher's and readers' threads) -----------------------------

    def _snapshot_from_core(self, snapshot: Snapshot) -> None:
        if self.hub is not None:
            self.hub.sync(snapshot.current_ids())
        self.post_message(SnapshotArrived(snapshot))

    def _event_from_core(self, event: EngineEvent) -> None:
        if self.hub is not None:
            self.hub.on_event(event.action, event.service, event.container_id, event.time_ns, event.detail)

    def _connection_from_core(self, connection: Connection) -> None:
        if connection.connected and self.hub is not None:
            self.hub.poke_all()  # their containers may have been restarted while no events came
        self.post_message(ConnectionChanged(connection))

    def _lines_waiting(self) -> None:
        """On a reader thread: lines wait in the store and none did before. Once per batch."""
        loop = self._loop_for_logs
        if loop is None:
            self.post_message(LogsPending())
            return
        try:
            # Straight onto the event loop, in the app's context: a Textual message per batch
            # costs more than the batch at idle (three quiet services, a line a second each).
            loop.call_soon_threadsafe(self._schedule_flush, context=self._context_for_logs)
        except RuntimeError:  # the loop is closed: the app is gone
            pass

    # -- on the UI thread ---------------------------------------------------------------------------------

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        try:
            self.show_snapshot(message.snapshot)
        except NoMatches:  # the app is closing: a death published from its event arrives after the widgets went
            pass

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw a snapshot (from the watcher, or fixed data in tests)."""
        before = self.snapshot
        self.snapshot = snapshot
        self.table.show(snapshot.rows, self.clock())
        if self.first_rows_at is None and snapshot.rows:
            self.first_rows_at = time.perf_counter()
        if self.live and (before is None or _verdicts(before) != _verdicts(snapshot)):
            self._schedule_check(0.2 if before is None else CHECK_DELAY)

    def on_logs_pending(self, message: LogsPending) -> None:
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # asyncio's call_later, not a Textual Timer: a Timer is a task of its own, and at idle
            # (a line a second per service) making one per batch cost more than drawing the line.
            asyncio.get_running_loop().call_later(self._flush_interval, self._flush_logs)

    def _flush_logs(self) -> None:
        self._flush_scheduled = False
        pending, overflowed = self.store.drain()
        self._flush_interval = FLOOD_INTERVAL if overflowed or len(pending) >= FLOOD_BATCH else FLUSH_INTERVAL
        try:
            if overflowed:
                self.pane.redraw()
            elif pending and self.pane.flush(pending):
                self._tick_with_flush()  # into the frame being drawn anyway, rather than one of its own
        except NoMatches:  # closing
            pass

    def flush_logs_now(self) -> None:
        """Draw what is waiting without the batching delay (tests, and before a screenshot)."""
        self._flush_logs()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        conn = message.connection
        was = self.connection
        self.connection = conn
        banner = self._main.query_one("#banner", Static)
        if conn.connected:
            banner.display = False
            if was is not None and not was.connected:
                self.notify("the engine answers again; state and logs are current", title="engine back")
        else:
            host = self.engine_label or getattr(self.engine, "host", "the engine")
            text = Text(f"\u26a0 {host}: {conn.message}.", style="bold")
            if conn.retry_in is not None:
                text.append(f" Retrying in {conn.retry_in:.0f}s (attempt {conn.attempt}).")
            text.append(" The table shows the last known state.")
            banner.update(text)
            banner.display = True
        self._draw_topbar()

    def _tick(self) -> None:
        """The uptime column, unless a log flush refreshed it since the last time.

        Idle, a followed service's line a second and the uptime of young containers each drew
        a frame a second, in their own phases; the flush now takes the uptime along.
        """
        if self._ticked_since_timer:
            self._ticked_since_timer = False
        else:
            self._refresh_uptime()

    def _tick_with_flush(self) -> None:
        self._ticked_since_timer = True
        self._refresh_uptime()

    def _refresh_uptime(self) -> None:
        try:
            self.table.tick(self.clock())
            self.show_pending_figures()  # in the same frame as the uptime and the log lines
        except NoMatches:  # the app is closing: its widgets are gone before its timers
            pass

    # -- findings ---------------------------------------------------------------------------------------

    def _schedule_check(self, delay: float) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(delay, self._start_check)

    def _start_check(self, refresh: bool = False) -> None:
        self._check_timer = None
        if self.actions is None or self.snapshot is None and not refresh:
            return
        self.findings_panel.set_checking(True)
        self.run_worker(lambda: self._check(refresh), thread=True, exit_on_error=False, group="check",
                        name="check", exclusive=True)

    def _check(self, refresh: bool) -> None:
        assert self.actions is not None
        snapshot = self.snapshot
        if refresh and self.watcher is not None:
            snapshot = self.watcher.refresh()
        if snapshot is None:
            return
        findings = self.actions.check(snapshot.containers, snapshot.rows)
        self.call_from_thread(self.show_findings, findings)

    def show_findings(self, findings: list[FindingView], at: datetime | None = None) -> None:
        self.findings = list(findings)
        self.findings_panel.show(self.findings, at or self.clock())

    def on_findings_panel_fix_requested(self, message: FindingsPanel.FixRequested) -> None:
        fix = message.finding.fix or ""
        action, arg = parse_fix(fix)
        if action == "restart" and arg:
            self._restart([arg])
        elif action in ("separate", "rollback") and arg:
            self._separate(arg)
        elif action == "share" and arg:
            self._share(arg)
        elif action == "undo":
            self.action_undo()
        else:
            self.notify(f"no key for the fix {fix!r}; see the finding's hint", severity="warning")

    # -- workers' failures become notifications ---------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "plan":
            return  # the plan modal shows its own outcome
        if event.state == WorkerState.ERROR:
            error = worker.error
            if worker.group == "load":
                self._load_failed(error)
                return
            if worker.group == "prepare" and error is not None and hasattr(error, "candidates"):
                return  # handled where the ports are asked for
            if worker.group == "check":
                self.findings_panel.set_checking(False)
            if worker.group in ("prepare", "reload"):
                self.busy = None
            if worker.group == "files" and self._files_pending is not None:
                # Keep the last good model; the next edit of the files is tried again.
                self._files_stamp, self._files_pending = self._files_pending, None
            self.notify(str(error) or type(error).__name__, title=_title_of(worker.group), severity="error",
                        timeout=10)
        elif event.state == WorkerState.CANCELLED and worker.group == "check":
            self.findings_panel.set_checking(False)

    # -- keys: logs -------------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "services" and event.row_key.value is not None:
            self.pane.show(str(event.row_key.value))

    def action_logs_selected(self) -> None:
        service = self.table.selected_service
        if service:
            self.pane.show(service)

    def action_merged(self) -> None:
        self.pane.show(None)

    def action_search(self) -> None:
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
        self._start_check(refresh=self.live)

    def action_help(self) -> None:
        from stacktui.ui.modals import HelpScreen

        self.push_screen(HelpScreen(self.help_keys()))

    async def action_quit(self) -> None:
        self.stop_core()
        self.exit(0)

    def stop_core(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.store.on_pending = None
        if self.watcher is not None:
            self.watcher.stop(wait=0.5)
        if self.hub is not None:
            self.hub.stop(wait=0.5)
        self.stop_figures()

    def on_unmount(self) -> None:
        self.stop_core()

    # -- keys: changes (each asks first) ---------------------------------------------------------------------

    def _claim(self, what: str) -> bool:
        if self.actions is None or self.project is None:
            self.notify("still loading the project", severity="warning")
            return False
        if self.project.read_only:
            self.notify(f"project {self.project.name} was attached from the engine without its compose files: "
                        f"{what} needs them (run stacktui in the project's folder, or pass -f FILE)",
                        severity="warning", timeout=8)
            return False
        if self.busy is not None:
            self.notify(f"busy: {self.busy} is still running", severity="warning")
            return False
        self.busy = what
        return True

    def _selected(self) -> str | None:
        service = self.table.selected_service
        if service is None:
            self.notify("no service selected", severity="warning")
        return service

    def action_restart(self) -> None:
        service = self._selected()
        if service:
            self._restart([service])

    def action_restart_all(self) -> None:
        if self.project is not None:
            self._restart(list(self.project.services))

    def _restart(self, services: list[str]) -> None:
        if not self._claim("a restart"):
            return
        actions = self.actions
        assert actions is not None

        def prepare() -> None:
            view = actions.restart_plan(services)
            self.call_from_thread(self._show_plan, view)

        self.run_worker(prepare, thread=True, exit_on_error=False, group="prepare", name="restart plan")

    def _show_plan(self, view: PlanView) -> None:
        from stacktui.ui.modals import PlanModal

        actions = self.actions
        assert actions is not None
        self.push_screen(PlanModal(view.title, view.steps, lambda emit, cancel: actions.run_plan(view, emit, cancel),
                                   intro="Restarts in this order; each step waits for its gates before the next.",
                                   run_label="Restart"),
                         self._plan_closed)

    def _plan_closed(self, outcome: Outcome | None) -> None:
        self.busy = None
        if outcome is None:
            return
        self.notify(outcome.summary, severity="information" if outcome.ok else "error")
        self._start_check(refresh=self.live)

    def action_separate(self) -> None:
        service = self._selected()
        if service:
            self._separate(service)

    def _separate(self, service: str, ports: list[int] | None = None) -> None:
        assert self.project is not None
        spec = self.project.services.get(service)
        if spec is not None and not spec.namespace_targets():
            self.notify(f"{service} already has its own namespaces", severity="information")
            return
        if not self._claim("a layout change"):
            return
        actions = self.actions
        assert actions is not None

        def prepare() -> None:
            try:
                view = actions.prepare_separate(service, ports=ports)
            except Exception as exc:
                candidates = getattr(exc, "candidates", None)
                if candidates is None:
                    raise
                self.call_from_thread(self._ask_ports, service, list(candidates), str(exc))
                raise
            self.call_from_thread(self._show_change, view)

        self.run_worker(prepare, thread=True, exit_on_error=False, group="prepare", name="separate")

    def _ask_ports(self, service: str, candidates: list[int], message: str) -> None:
        from stacktui.ui.modals import PortsModal

        self.busy = None

        def chosen(ports: list[int] | None) -> None:
            if ports:
                self._separate(service, ports)

        self.push_screen(PortsModal(service, candidates, message), chosen)

    def action_share(self) -> None:
        service = self._selected()
        if service:
            self._share(service)

    def _share(self, service: str) -> None:
        from stacktui.ui.modals import ChoiceModal

        assert self.project is not None and self.actions is not None
        spec = self.project.services.get(service)
        if spec is not None and spec.namespace_target("network_mode"):
            self.notify(f"{service} already shares {spec.namespace_target('network_mode')}'s namespaces",
                        severity="information")
            return
        candidates = self.actions.share_candidates(service)
        if not candidates:
            self.notify(f"no service whose namespaces {service} could join", severity="warning")
            return

        def chosen(owner: str | None) -> None:
            if owner:
                self._prepare_share(service, owner)

        self.push_screen(ChoiceModal(f"Share namespaces with {service}", candidates,
                                     prompt=f"Whose network and IPC namespaces should {service} join?"), chosen)

    def _prepare_share(self, service: str, owner: str) -> None:
        if not self._claim("a layout change"):
            return
        actions = self.actions
        assert actions is not None

        def prepare() -> None:
            self.call_from_thread(self._show_change, actions.prepare_shared(service, owner))

        self.run_worker(prepare, thread=True, exit_on_error=False, group="prepare", name="share")

    def action_undo(self) -> None:
        if not self._claim("a layout change"):
            return
        actions = self.actions
        assert actions is not None

        def prepare() -> None:
            self.call_from_thread(self._show_change, actions.prepare_undo())

        self.run_worker(prepare, thread=True, exit_on_error=False, group="prepare", name="undo")

    def _show_change(self, view: ChangeView) -> None:
        from stacktui.ui.modals import DiffModal, PlanModal

        actions = self.actions
        assert actions is not None
        summary = view.reason
        if view.file:
            summary = f"{view.file}: {summary}" if summary else view.file
        if view.touched:
            summary += f"\nservices recreated: {', '.join(view.touched)}"

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.busy = None
                return
            self.push_screen(PlanModal(f"Applying: {view.title}", [], lambda emit, cancel: actions.apply_change(
                view, emit, cancel), confirm=False), self._change_applied)

        self.push_screen(DiffModal(view.title, view.diff, summary=summary), confirmed)

    def _change_applied(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self.notify(outcome.summary, severity="information" if outcome.ok else "error")
        actions = self.actions
        assert actions is not None

        files = list(self.project.files) if self.project is not None else []

        def reload() -> None:
            stamp = files_stamp(files)  # before reading them: a later edit is seen as one
            project = actions.reload_project()
            self.call_from_thread(self._project_reloaded, project, stamp)

        self.run_worker(reload, thread=True, exit_on_error=False, group="reload", name="reload project")

    # -- the compose files changed on disk ---------------------------------------------------------------

    def _check_files(self) -> None:
        """Someone edited a compose file: load the project again. During a restart or a layout
        change this waits; a change prepared on the old text is refused by core when applied."""
        project, actions = self.project, self.actions
        if project is None or actions is None or project.read_only or self.busy is not None:
            return
        if self._files_pending is not None:
            return
        stamp = files_stamp(project.files)
        if stamp == self._files_stamp:
            return
        self._files_pending = stamp
        names = ", ".join(Path(f).name for f in project.files)

        def reload() -> None:
            self.call_from_thread(self._files_reloaded, actions.reload_project(), stamp, names)

        self.run_worker(reload, thread=True, exit_on_error=False, group="files", name="reload changed files")

    def _files_reloaded(self, project: "Project", stamp: tuple[Any, ...], names: str) -> None:
        self._files_pending = None
        self.notify(f"{names} changed on disk: reloaded", title="compose files")
        self._project_reloaded(project, stamp, end_flow=False)

    def _project_reloaded(self, project: "Project", stamp: tuple[Any, ...] | None = None,
                          end_flow: bool = True) -> None:
        if end_flow:
            self.busy = None
        if stamp is not None:
            self._files_stamp = stamp
        self.project = project
        self.pane.set_services(list(project.services))
        self.table.placeholder(project.services)
        if self.watcher is not None:
            self.watcher.project = project
            self.run_worker(lambda: self._refresh_after_change(project), thread=True, exit_on_error=False,
                            group="reload")

    def _refresh_after_change(self, project: "Project") -> None:
        assert self.watcher is not None
        self.watcher.set_project(project)
        self.watcher.refresh()


def short_host(host: str, room: int = 32) -> str:
    """unix:///a/long/path/to/docker.sock -> unix://…/to/docker.sock: the end is what tells engines apart."""
    if len(host) <= room:
        return host
    scheme, sep, rest = host.partition("://")
    if not sep:
        return "\u2026" + host[-(room - 1):]
    keep = max(8, room - len(scheme) - 4)
    return f"{scheme}://\u2026{rest[-keep:]}"


def _verdicts(snapshot: Snapshot) -> list[tuple[str, str, str, bool]]:
    return [(r.service, r.state, r.health, r.stale) for r in snapshot.rows]


def _title_of(group: str) -> str:
    return {"prepare": "could not prepare", "check": "check failed", "reload": "reload failed",
            "info": "engine", "files": "compose files changed: not reloaded"}.get(group, "error")
