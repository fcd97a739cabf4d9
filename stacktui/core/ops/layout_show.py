"""The layout as `stacktui layout show|history` and `s` read it: namespace groups, who could be joined, history.

Apart from ops/layout.py so that reading pays for neither the round-trip YAML
editor nor the Compose CLI.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from stacktui.core.compose.model import Project
from stacktui.core.namespaces.groups import NamespaceGroup, describe

if TYPE_CHECKING:
    from stacktui.core.layout.history import HistoryEntry

__all__ = ["NamespaceGroup", "describe", "history", "share_candidates"]


def history(project: Project) -> list[tuple["HistoryEntry", bool]]:
    """The project's recorded changes, oldest first, each with whether a failed apply rolled it back."""
    from stacktui.core.layout.history import project_history, rolled_back

    entries = project_history(project)
    undone = rolled_back(entries)
    return [(e, e.id in undone) for e in entries]


def share_candidates(project: Project, service: str) -> list[str]:
    """Services whose namespaces `service` could join: any other that joins nobody's network itself."""
    return [name for name, spec in project.services.items()
            if name != service and not spec.namespace_target("network_mode")]
