"""Layout operations as `b`, `s`, `u` and `stacktui layout` reach them: show, prepare, apply, history.

Preparing never writes: it yields a LayoutChange whose diff the user confirms;
apply_change writes it, brings the touched services up from it and checks
them, or puts file and containers back (core/layout/apply.py).
"""
from __future__ import annotations

from stacktui.core.compose.model import Project
from stacktui.core.layout.apply import ApplyEvent, ApplyResult, apply_change
from stacktui.core.layout.edit import LayoutChange, PortsUnknown
from stacktui.core.layout.history import HistoryEntry, prepare_undo, project_history, rolled_back
from stacktui.core.layout.prepare import EngineSource, prepare_separate, prepare_shared
from stacktui.core.namespaces.groups import NamespaceGroup, describe

__all__ = ["ApplyEvent", "ApplyResult", "EngineSource", "HistoryEntry", "LayoutChange", "NamespaceGroup",
           "PortsUnknown", "apply_change", "describe", "history", "prepare_separate", "prepare_shared",
           "prepare_undo", "share_candidates"]


def share_candidates(project: Project, service: str) -> list[str]:
    """Services whose namespaces `service` could join: any other that joins nobody's network itself."""
    return [name for name, spec in project.services.items()
            if name != service and not spec.namespace_target("network_mode")]


def history(project: Project) -> list[tuple[HistoryEntry, bool]]:
    """The project's recorded changes, oldest first, each with whether a failed apply rolled it back."""
    entries = project_history(project)
    undone = rolled_back(entries)
    return [(e, e.id in undone) for e in entries]
