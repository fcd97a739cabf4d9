"""Measured latency as a line (or a few) in a dialog: beside a layout diff, and in the detail view.

A measurement is active traffic and takes a second or two, so it runs in a thread worker and
only when asked: at once beside a diff (the choice is being made now), on a key in the detail
view. The lines come from core as plain text and are shown as Text, sanitized.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.widgets import Static

from stacktui.core.sanitize import sanitize

Measure = Callable[[], "str | list[str]"]


class LatencyLines(Static):
    """Shows `idle` until measure() is called, `measuring…` while it runs, then what it gave."""

    def __init__(self, measure: Measure, *, idle: str = "", now: bool = False, id: str | None = None) -> None:
        super().__init__(Text(idle, style="dim"), id=id)
        self._measure = measure
        self._now = now
        self.measuring = False
        self.lines: list[str] = []

    def on_mount(self) -> None:
        if self._now:
            self.measure()

    def measure(self) -> None:
        """Measure again, in a thread; a second call while one runs is ignored."""
        if self.measuring:
            return
        self.measuring = True
        self.update(Text("latency: measuring\u2026", style="dim"))
        self._work()

    @work(thread=True, exit_on_error=False, name="latency")
    def _work(self) -> None:
        try:
            found = self._measure()
            lines = [found] if isinstance(found, str) else list(found)
        except Exception as exc:  # the engine went away, a namespace vanished: say so in the dialog
            lines = [f"latency: not measured: {exc}"]
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        self.measuring = False
        if not self.is_attached:
            return  # the dialog closed while the measurement ran
        self.lines = lines
        self.update(Text("\n".join(sanitize(line) for line in lines)))
