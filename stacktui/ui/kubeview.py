"""`K`: the open project as Kubernetes objects (`stacktui kube export`), shown as plain text, written to
the project's `k8s/` folder on confirmation (replaced whole; a folder of other files is refused)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from stacktui.core.errors import StackError
from stacktui.core.sanitize import printable
from stacktui.ui.background import job
from stacktui.ui.modals import keys_line
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    from stacktui.core.compose.model import Project
    from stacktui.core.ops.kube import Export

FOLDER = "k8s"


class ExportModal(ModalScreen[bool]):
    """The YAML stream, scrollable, never markup; y writes it, n/esc closes (Cancel is focused)."""

    BINDINGS = [Binding("escape,n", "cancel", "cancel", show=False), Binding("y", "write", "write", show=False)]

    def __init__(self, title: str, text: str, summary: str) -> None:
        super().__init__()
        self.export_title = title
        self.text = text
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(id="kube-dialog", classes="dialog"):
            yield Static(Text(self.export_title, style="bold"), classes="dialog-title", markup=False)
            yield Static(Text(self.summary), id="kube-summary", markup=False)
            yield TextArea(self.text, read_only=True, soft_wrap=False, id="kube-body")
            with Horizontal(classes="dialog-buttons"):
                yield keys_line("y write · n/esc close · enter: focused button")
                yield Button("Write", id="kube-write", variant="warning", compact=True)
                yield Button("Cancel", id="kube-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#kube-cancel", Button).focus()  # nothing is written by a stray enter

    @on(Button.Pressed, "#kube-write")
    def _write(self) -> None:
        self.dismiss(True)

    def action_write(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#kube-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


class KubeExport(Part):
    """`K`: export in a thread, show, write on confirmation."""

    def start(self) -> None:
        project = self.app.project
        if project is None or project.read_only:
            self.app.notify("no compose files to export (attached from containers)", severity="warning")
            return
        self._export(project)

    @job("kube export", project=False)
    def _export(self, project: "Project") -> None:
        from stacktui.core.ops import kube

        try:
            result = kube.export(project, kube.ExportOptions())
        except StackError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), title="kube export", severity="error", timeout=15)
            return
        self.app.call_from_thread(self._show, project, result, kube.as_stream(result))

    def _show(self, project: "Project", result: "Export", stream: str) -> None:
        folder = project.working_dir / FOLDER
        lines = [f"{len(result.objects)} objects; y writes one file each to {folder} (replaced whole)"]
        lines += [f"note: {n.text()}" for n in result.notes]
        summary = "\n".join(printable(line) for line in lines)
        body = "\n".join(printable(line) for line in stream.splitlines())

        def closed(write: bool | None) -> None:
            if write:
                self._write(result, folder)

        self.app.push_screen(ExportModal(f"Kubernetes export of {project.name}", body, summary), closed)

    @job("kube export", project=False)
    def _write(self, result: "Export", folder: Path) -> None:
        from stacktui.core.ops import kube

        try:
            written = kube.write(result, folder)
        except (StackError, OSError) as exc:
            self.app.call_from_thread(self.app.notify, str(exc), title="kube export", severity="error", timeout=15)
            return
        self.app.call_from_thread(self.app.notify, f"{len(written)} files written to {folder}", title="kube export")
