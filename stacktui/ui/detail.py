"""The detail view of one service (`d`): CPU and memory over the last minutes, as sparklines; latency on `m`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Sparkline, Static

from stacktui.ui.latencyview import LatencyLines, Measure
from stacktui.ui.services import human_bytes

if TYPE_CHECKING:
    from stacktui.core.resources.figures import Figures
    from stacktui.core.resources.monitor import FigureHistory


class DetailScreen(ModalScreen[None]):
    """Refreshed with the figures (every 2 s) while it is open."""

    BINDINGS = [Binding("escape,q,d", "close", "close", show=False),
                Binding("m", "measure", "measure latency", show=False)]

    def __init__(self, service: str, history: "FigureHistory", figures: Callable[[], "Figures | None"],
                 minutes: float, latency: "Measure | None" = None) -> None:
        super().__init__()
        self.service = service
        self.history = history
        self.figures = figures
        self.minutes = minutes
        self.latency = latency  # measured on `m` only: it is active traffic, never on a timer

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Static(Text(f"{self.service}: the last {self.minutes:g} minutes", style="bold"), id="detail-title")
            yield Static(id="cpu-label")
            yield Sparkline([], id="cpu-spark")
            yield Static(id="mem-label")
            yield Sparkline([], id="mem-spark")
            if self.latency is not None:
                yield LatencyLines(self.latency, idle="latency: not measured (m measures every path to it now)",
                                   id="detail-latency")
            yield Static(Text(("m measure latency · " if self.latency is not None else "") + "esc / q / d close",
                              style="dim"), id="detail-keys")

    def on_mount(self) -> None:
        self.refresh_figures()

    def refresh_figures(self) -> None:
        cpu, mem = self.history.cpu(self.service), self.history.mem(self.service)
        now = self.figures()
        self.query_one("#cpu-spark", Sparkline).data = cpu or [0.0]
        self.query_one("#mem-spark", Sparkline).data = [float(m) for m in mem] or [0.0]
        if now is None:
            cpu_text = mem_text = "not running"
        else:
            cpu_text = f"{now.cpu_percent:.1f}%" if now.cpu_percent is not None else "\u2026"
            mem_text = f"{human_bytes(now.mem_bytes)} of {human_bytes(now.mem_limit_bytes)}"
        peak = f", peak {max(cpu):.1f}%" if cpu else ""
        self.query_one("#cpu-label", Static).update(Text(f"CPU {cpu_text}{peak}"))
        mem_peak = f", peak {human_bytes(max(mem))}" if mem else ""
        self.query_one("#mem-label", Static).update(Text(f"memory {mem_text}{mem_peak}"))

    def action_measure(self) -> None:
        if self.latency is not None:
            self.query_one("#detail-latency", LatencyLines).measure()

    def action_close(self) -> None:
        self.dismiss(None)
