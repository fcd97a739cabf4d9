"""How the benchmarks find their way around stacktui: the one place to adapt when the TUI changes.

What the benchmarks expect from the app (issue 7's screen and keys):
- the services table is a `ServicesTable` (stacktui's RowTable) with id `services`, one row per
  service, row key = the service name, cells that read "running" / "exited (N)" as the state;
- `l` on the selected row opens that service's logs in the log pane (the pane follows, so the
  newest line is on screen);
- the log pane is a widget with id `logs` (else the first `textual.widgets.Log` on the screen);
  "last line on screen" is read from the rendered screen, not from the widget;
- the app is built the way `stacktui tui` builds it: `stacktui.commands.tui.build_app(ctx)` when
  that exists, else `StackApp(project=ctx.project, engine=ctx.engine)`.
While the app has no log pane (main before the TUI branch), `StandInApp` below adds one: the real
app's table plus a `Log` fed by the bench's raw socket reader, batched every 50 ms. Rows measured
on it say "stand-in" and are not judged against the targets.
"""
from __future__ import annotations

import importlib.util
import os
import threading
import time
from typing import Any

LOG_PANE_IDS = ("logs", "log-pane", "log")
SERVICES_ID = "services"
OPEN_LOGS_KEY = "l"
STANDIN_MAX_LINES = 50_000  # "tens of thousands of lines" (issue 7); the stand-in's ring buffer
BATCH_SECONDS = 0.05


def process_started() -> float:
    """Wall-clock time this process was created (fork), to the kernel's 10 ms tick.

    Not psutil's create_time(): it adds /proc/stat's `btime`, the boot time in whole seconds,
    so its answer is early by the boot time's fraction of a second (0.50 s on this machine, the
    same for every process since boot): every "from the process's creation" figure carried it.
    Here the boot time is taken as now minus /proc/uptime, which has 10 ms steps.
    """
    with open("/proc/self/stat") as f:
        after_name = f.read().rsplit(")", 1)[1].split()  # the name may hold spaces and parentheses
    start_ticks = int(after_name[19])  # field 22, starttime: ticks after boot
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")


def app_has_log_pane() -> bool:
    """Whether this checkout's app has a log pane, decided without starting it.

    The TUI branch brings stacktui/core/live/logs.py together with the pane; without it the app
    on this checkout shows only the table. (Starting the app once to look would leave its
    watcher and log threads in the process being measured.)
    """
    return importlib.util.find_spec("stacktui.core.live.logs") is not None


def build_context(tui_args: list[str] | None = None) -> tuple[Any, Any]:
    """The context and parsed arguments of `stacktui tui [tui_args]` in the current directory."""
    from stacktui.cli import build_parser
    from stacktui.commands.context import Context

    args = build_parser().parse_args(["tui", *(tui_args or [])])
    return Context.from_args(args), args


def build_app(ctx: Any, args: Any = None) -> Any:
    """The app exactly as `stacktui tui` would build it in the current directory."""
    from stacktui.commands import tui

    return tui.build_app(ctx, args)


def services_table(app: Any) -> Any:
    from stacktui.ui.services import ServicesTable

    try:
        return app.screen.query_one(f"#{SERVICES_ID}", ServicesTable)
    except Exception:
        return app.screen.query(ServicesTable).first()


def log_pane(app: Any) -> Any | None:
    from textual.widgets import Log

    for wid in LOG_PANE_IDS:
        found = app.screen.query(f"#{wid}")
        if found:
            return found.first()
    found = app.screen.query(Log)
    return found.first() if found else None


def pane_tail(pane: Any, n: int = 3) -> str:
    """The pane's newest lines when the widget exposes them (Log.lines); '' otherwise."""
    lines = getattr(pane, "lines", None)
    if lines is None:
        return ""
    try:
        return "\n".join(str(x) for x in list(lines[-n:]))
    except Exception:
        return ""


def screen_text(app: Any) -> str:
    """What the screen shows, as plain text (the compositor's current strips)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def row_text(table: Any, key: str) -> str:
    cells = table.rows.get(key)
    return " ".join(str(cell) for cell in cells.values()) if cells is not None else ""


def row_index(table: Any, key: str) -> int:
    return table.row_keys.index(key)


def select_row(app: Any, table: Any, key: str) -> None:
    table.move_cursor(row=row_index(table, key))
    app.set_focus(table)


class FrameClock:
    """Calls `check()` after every frame the app displays (textual's post_display_hook).

    Headless textual still composes every frame; only the write to a terminal is skipped.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.frames = 0
        self.last_frame = 0.0
        self._waiters: list[tuple[Any, Any, list[float]]] = []
        app.post_display_hook = self._hook

    def _hook(self) -> None:
        now = time.perf_counter()
        self.frames += 1
        self.last_frame = now
        still = []
        for predicate, event, out in self._waiters:
            try:
                ok = predicate()
            except Exception:
                ok = False
            if ok:
                out.append(now)
                out.append(time.time())
                event.set()
            else:
                still.append((predicate, event, out))
        self._waiters = still

    async def first_frame_where(self, predicate: Any, timeout: float) -> tuple[float, float] | None:
        """(perf_counter, wall time) of the first frame displayed while predicate() holds."""
        import asyncio

        event = asyncio.Event()
        out: list[float] = []
        self._waiters.append((predicate, event, out))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            self._waiters = [w for w in self._waiters if w[1] is not event]
            return None
        return out[0], out[1]


def standin_app(ctx: Any) -> Any:
    """The real app's table plus a stand-in log pane (a Log fed by the bench's raw reader)."""
    from textual.binding import Binding
    from textual.widgets import Log

    from bench.rawlogs import read_batches
    from stacktui.ui.app import StackApp

    class StandInApp(StackApp):
        BINDINGS = [*StackApp.BINDINGS, Binding(OPEN_LOGS_KEY, "open_logs", "Logs")]

        def compose(self):  # type: ignore[override]
            yield from super().compose()
            yield Log(id="logs", max_lines=STANDIN_MAX_LINES)

        def on_mount(self) -> None:
            self._pending: list[str] = []
            self._lock = threading.Lock()
            # Batched by time, not by count: one write (and one refresh) per 50 ms however many
            # lines arrived (../shared/notes/pitfalls.md).
            self.set_interval(BATCH_SECONDS, self._flush)

        def action_open_logs(self) -> None:
            service = services_table(self).selected_service
            cid = next(c.id for c in self.engine.project_containers(self.project.name) if c.service == service)
            self.query_one("#logs", Log).clear()
            sock = self.engine.socket_path or "/var/run/docker.sock"
            threading.Thread(target=self._feed, args=(sock, cid), daemon=True).start()

        def _feed(self, sock: str, cid: str) -> None:
            for batch in read_batches(sock, cid, follow=True, timeout=3600):
                decoded = [b.decode("utf-8", "replace") for b in batch]
                with self._lock:
                    self._pending.extend(decoded)

        def _flush(self) -> None:
            with self._lock:
                lines, self._pending = self._pending, []
            if lines:
                pane = self.query_one("#logs", Log)
                pane.write_lines(lines)
                # textual 8.2.8: once max_lines prunes, a Log already at its end keeps showing the
                # old lines until something else refreshes it.
                pane.refresh()

    return StandInApp(project=ctx.project, engine=ctx.engine)


def rss_bytes() -> int:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss
