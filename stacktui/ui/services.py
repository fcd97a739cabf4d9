"""The services table: one row per service, cells as Text, updated in place where they changed."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

from rich.text import Text

from stacktui.core.health.status import DOWN, HEALTHY, NO_CHECK, STALE, STARTING, UNHEALTHY, ServiceStatus
from stacktui.core.resources.figures import Figures
from stacktui.ui.rowtable import RowTable

# Every health word has a glyph too, so the column reads without colour.
HEALTH_LOOK: dict[str, tuple[str, str]] = {
    HEALTHY: ("\u2714", "green"),  # ✔
    UNHEALTHY: ("\u2718", "bold red"),  # ✘
    STARTING: ("\u25cc", "yellow"),  # ◌
    STALE: ("\u26a0", "bold magenta"),  # ⚠
    NO_CHECK: ("\u00b7", "dim"),  # ·
    DOWN: ("\u25a0", "red"),  # ■
}
COLUMNS: list[tuple[str, str]] = [
    ("service", "service"),
    ("state", "state"),
    ("health", "health"),
    ("namespace", "namespace"),
    ("up", "up "),  # three wide from the start: "9s" -> "10s" would widen it, a layout of the whole screen
    ("restarts", "\u21bb"),  # ↻
    ("badge", ""),
    ("cpu", "cpu "),  # as wide as "2.2%": the second reading (the first CPU figure) would lay the screen out again
    ("mem", "mem"),
    ("net", "net \u2193\u2191"),  # ↓↑
    ("ports", "ports"),
]
_PORT = re.compile(r"^(?:(?P<ip>.*):)?(?P<host>\d+)->(?P<cont>\d+)/(?P<proto>\w+)$")


def health_cell(word: str) -> Text:
    glyph, style = HEALTH_LOOK.get(word, ("?", ""))
    return Text(f"{glyph} {word}", style=style)


def state_cell(state: str) -> Text:
    if state == "running":
        return Text(state, style="green")
    if state in ("restarting", "created", "paused"):
        return Text(state, style="yellow")
    return Text(state, style="red")


def short_port(label: str) -> str:
    """'127.0.0.1:19001->9001/tcp' -> '19001→9001' (protocol shown when not tcp)."""
    m = _PORT.match(label)
    if not m:
        return label
    proto = "" if m["proto"] == "tcp" else f"/{m['proto']}"
    return f"{m['host']}\u2192{m['cont']}{proto}"


def uptime(started: datetime | None, now: datetime) -> str:
    if started is None:
        return "-"
    seconds = max(0, int((now - started).total_seconds()))
    if seconds < 10:
        return f"{seconds}s"
    if seconds < 60:
        # Tens of seconds past the first ten, as minutes past the first hour: a per-second tick
        # redrew every young row every second (a third of the app's idle CPU after a restart).
        return f"{seconds // 10 * 10}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def uptime_changes_at(started: datetime | None, now: datetime) -> datetime | None:
    """When `uptime(started, ...)` next reads differently from what it reads at `now`."""
    if started is None:
        return None
    seconds = max(0, int((now - started).total_seconds()))
    if seconds < 10:
        step = seconds + 1
    elif seconds < 60:
        step = (seconds // 10 + 1) * 10
    elif seconds < 24 * 3600:
        step = (seconds // 60 + 1) * 60
    else:
        step = (seconds // 3600 + 1) * 3600
    return started + timedelta(seconds=step)


def row_cells(row: ServiceStatus, now: datetime, figures: Figures | None = None,
              figures_on: bool = False) -> dict[str, Text]:
    running = row.state.startswith("running")
    if figures is not None and figures.container_id != row.container_id:
        figures = None  # a reading of the container this service had before a recreate
    return {
        "service": Text(row.service, style="bold"),
        "state": state_cell(row.state),
        "health": health_cell(row.health),
        "namespace": (Text(f"shares {row.namespace_owner}", style="cyan") if row.namespace_owner
                      else Text("own", style="dim")),
        "up": Text(uptime(row.started_at, now) if running else "-"),
        "restarts": Text(str(row.restart_count), style="bold yellow" if row.restart_count else "dim"),
        "badge": Text(" STALE ", style="bold white on red") if row.stale else Text(""),
        **figure_cells(figures, running and figures_on),
        "ports": Text(" ".join(short_port(p) for p in row.ports)),
    }


def human_bytes(n: int) -> str:
    """1536 -> '1.5K', 23 * 2**30 -> '23G': binary units, as `docker stats` (without the i)."""
    value = float(n)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return f"{n}B"


def figure_cells(figures: Figures | None, waiting: bool) -> dict[str, Text]:
    """The cpu, mem and net cells of one service; `waiting`: running, its first reading not in yet."""
    if figures is None:
        dash = Text("\u2026" if waiting else "-", style="dim")
        return {"cpu": dash, "mem": dash, "net": dash}
    cpu = Text("\u2026", style="dim") if figures.cpu_percent is None else \
        Text(f"{figures.cpu_percent:.1f}%" if figures.cpu_percent < 10 else f"{figures.cpu_percent:.0f}%",
             style="bold" if figures.cpu_percent >= 50 else "")
    mem = Text(f"{human_bytes(figures.mem_bytes)}/{human_bytes(figures.mem_limit_bytes)}",
               style="bold" if figures.mem_limit_bytes and figures.mem_bytes > 0.8 * figures.mem_limit_bytes else "")
    if figures.net_shared_with:
        net = Text(f"shared with {figures.net_shared_with}", style="dim")
    elif figures.rx_bytes is None:
        net = Text("-", style="dim")
    else:
        net = Text(f"{human_bytes(figures.rx_bytes)} {human_bytes(figures.tx_bytes or 0)}")
    return {"cpu": cpu, "mem": mem, "net": net}


# On a light theme the dark-theme colours (yellow, green, cyan on white) lose their contrast: the
# same words, in darker shades of the same hues, each at least 5:1 against white (dark_cyan and
# dark_orange3, tried first, are under 4:1).
LIGHT_TONES = {"green": "dark_green", "yellow": "orange4", "cyan": "deep_sky_blue4", "magenta": "dark_magenta",
               "dim": "grey39"}


def toned(cells: dict[str, Text], light: bool) -> dict[str, Text]:
    """The cells in the light theme's shades (each cell is one Text of one style)."""
    if not light:
        return cells
    out = {}
    for key, cell in cells.items():
        style = str(cell.style)
        words = style.split()
        if "on" in words:  # a badge with its own background reads on any theme
            out[key] = cell
            continue
        out[key] = Text(cell.plain, style=" ".join(LIGHT_TONES.get(w, w) for w in words)) if style else cell
    return out


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ServicesTable(RowTable):
    """Rows keyed by service name, in declared order; only changed cells are touched."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: dict[str, ServiceStatus] = {}
        self._figures: dict[str, Figures] = {}
        # What each row's cpu, mem and net cells were last made from: a round whose figures, state
        # and theme are those builds no cells for that row (200 rows, most of them off screen).
        self._figures_drawn: dict[str, tuple[Figures | None, bool, bool]] = {}
        self._tick_due: datetime | None = None  # no uptime on screen reads differently before then
        self._tick_from: datetime | None = None
        self.figures_on = False  # the app reads resource figures (resource_refresh > 0)
        self.figures_wanted: frozenset[str] | None = None  # the rows on screen, set on the UI thread
        self._now: datetime | None = None
        self.updates = 0  # cells written since mount: tests check that unchanged rows cost nothing

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.app.theme_changed_signal.subscribe(self, self._retone)

    @property
    def light(self) -> bool:
        try:
            return not self.app.current_theme.dark
        except RuntimeError:  # NoActiveAppError (a bare table in a test): the dark shades
            return False

    def _retone(self, _theme: object) -> None:
        if self._rows and self._now is not None:
            self.show(list(self._rows.values()), self._now)

    def placeholder(self, services: Iterable[str]) -> None:
        """Names before the engine answers, so the first frame already has the stack's shape."""
        for name in services:
            if name not in self.rows:
                cells = {key: Text("") for key, _ in COLUMNS}
                cells["service"] = Text(name, style="bold")
                cells["state"] = Text("\u2026", style="dim")
                self.add_row(*cells.values(), key=name)

    def show(self, rows: list[ServiceStatus], now: datetime) -> None:
        self._now = now
        self._tick_due = None
        light = self.light
        wanted = [r.service for r in rows]
        reselect = self._replace_placeholders() if self.rows and not self._rows else None
        for gone in [k for k in self.rows if k not in wanted]:
            self.remove_row(gone)
            self._rows.pop(gone, None)
            self._figures_drawn.pop(gone, None)
        changed: list[tuple[str, str, Text]] = []
        for row in rows:
            self._rows[row.service] = row
            cells = toned(row_cells(row, now, self._figures.get(row.service), self.figures_on), light)
            old = self.rows.get(row.service)
            if old is None:
                self.add_row(*cells.values(), key=row.service)
                self.updates += len(cells)
                continue
            changed += [(row.service, key, cell) for key, cell in cells.items() if old[key] != cell]
        self._write_cells(changed)
        if list(self.rows) != wanted:  # a service appeared in between: keep declared order
            self._reorder(wanted)
        if reselect in self.rows and self.selected_service != reselect:
            self.move_cursor(row=list(self.rows).index(reselect))

    def _replace_placeholders(self) -> str | None:
        """The first real rows go in as new rows: written over the placeholders cell by cell, each
        write dropped the table's caches and repainted (0.3 s of start-up on 200 services).
        Returns the service the cursor was on, to put it back there."""
        selected = self.selected_service
        self.clear()
        return selected

    def show_figures(self, figures: dict[str, Figures]) -> None:
        """New resource figures (every 2 s): only the cpu, mem and net cells whose text changed are
        written, each repainting its own region (_write_cells). A service missing from this round (not on
        screen, see everyday.containers) keeps its last figures; a row whose container changed
        shows none (container_id below)."""
        self._figures = {**self._figures, **figures}
        figures = self._figures
        self.figures_wanted = self._on_screen()
        light = self.light
        changed: list[tuple[str, str, Text]] = []
        for name, row in self._rows.items():
            found = figures.get(name)
            if found is not None and found.container_id != row.container_id:
                found = None
            drawn = (found, row.state.startswith("running") and self.figures_on, light)
            if self._figures_drawn.get(name) == drawn:
                continue  # a service left out of this round, or an unchanged reading
            self._figures_drawn[name] = drawn
            old = self.rows[name]
            changed += [(name, key, cell) for key, cell in toned(figure_cells(found, drawn[1]), light).items()
                        if old[key] != cell]
        self._write_cells(changed)

    def _on_screen(self) -> frozenset[str]:
        """The services whose rows are in the visible part of the table, and the selected one."""
        names = list(self.rows)
        top = int(self.scroll_offset.y)
        shown = names[top:top + max(1, self.size.height)]
        selected = self.selected_service
        return frozenset(shown + ([selected] if selected else []))

    def start_figures(self) -> None:
        """Figures are on their way: running rows say so (…) until the first reading."""
        self.figures_on = True
        self.show_figures(self._figures)

    def figures_of(self, service: str) -> Figures | None:
        return self._figures.get(service)

    def tick(self, now: datetime) -> None:
        """Refresh the uptime column only (called every second).

        Past its first minute a row's uptime reads the same for a minute: until the first row's
        text changes (_tick_due) a tick looks at no row (200 rows: 3-8 ms a second otherwise)."""
        self._now = now
        if self._tick_due is not None and self._tick_from is not None and self._tick_from <= now < self._tick_due:
            return
        changed: list[tuple[str, str, Text]] = []
        due: datetime | None = None
        for name, row in self._rows.items():
            if not row.state.startswith("running"):
                continue
            text = uptime(row.started_at, now)
            if self.rows[name]["up"].plain != text:
                changed.append((name, "up", Text(text)))
            at = uptime_changes_at(row.started_at, now)
            if at is not None and (due is None or at < due):
                due = at
        self._tick_from, self._tick_due = now, due
        self._write_cells(changed)

    def _write_cells(self, changed: list[tuple[str, str, Text]]) -> None:
        """Write cells in place: one repaint of each changed cell's region (RowTable.write_cells);
        a cell wider than its column lays the table out again."""
        if changed:
            self.updates += len(changed)
            self.write_cells(changed)

    def _reorder(self, wanted: list[str]) -> None:
        selected = self.selected_service
        cells = self.rows
        self.clear()
        for name in wanted:
            self.add_row(*cells[name].values(), key=name)
        if selected in wanted:
            self.move_cursor(row=wanted.index(selected))

    @property
    def selected_service(self) -> str | None:
        return self.cursor_key

    def status_of(self, service: str) -> ServiceStatus | None:
        return self._rows.get(service)

    def cell_text(self, service: str, column: str) -> str:
        return self.rows[service][column].plain
