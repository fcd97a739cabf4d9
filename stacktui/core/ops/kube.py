"""`stacktui kube export` and the TUI's export viewer: the project's Kubernetes objects, shown or written."""
from __future__ import annotations

from pathlib import Path

from stacktui.core.compose.model import Project
from stacktui.core.kube.export import Export, export_project
from stacktui.core.kube.options import ExportOptions
from stacktui.core.kube.output import stream, write_dir

__all__ = ["Export", "ExportOptions", "export", "as_stream", "write"]


def export(project: Project, options: ExportOptions) -> Export:
    """The objects; raises ExportRefused (exit 2, with every file:line) before anything is written."""
    return export_project(project, options)


def as_stream(result: Export) -> str:
    """One YAML stream; what holds for the whole export heads it as comments."""
    return stream(result.objects, result.said)


def write(result: Export, folder: Path) -> list[Path]:
    """One file per object in `folder`, swapped in whole (a failed write leaves it as it was)."""
    return write_dir(folder, result.objects)
