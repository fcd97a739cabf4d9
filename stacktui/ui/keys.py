"""The app's keys, and the help built from them: one list, so a keymap that moves a key moves it in the help.

Each Binding carries its help line as its tooltip (the footer shows it on hover
too). Users remap keys by binding id (`App.set_keymap`, Textual's keymap file);
`help_rows` reads the keys as they are bound now.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App

BINDINGS = [
    Binding("r", "restart", "restart", id="restart",
            tooltip="restart the selected service and its namespace dependants, in order, with health gates"),
    Binding("R", "restart_all", "restart all", show=False, id="restart_all",
            tooltip="restart the whole stack in order"),
    Binding("b", "separate", "split", id="separate",
            tooltip="give the selected service its own namespaces again (diff, confirm, apply)"),
    Binding("s", "share", "share", id="share",
            tooltip="share another service's namespaces again (diff, confirm, apply)"),
    Binding("u", "undo", "undo", id="undo", tooltip="undo the last layout change (diff, confirm, apply)"),
    Binding("l", "logs_selected", "logs", show=False, id="logs", tooltip="logs of the selected service"),
    Binding("m", "merged", "merged", id="merged", tooltip="merged logs of every service"),
    Binding("slash", "search", "find", id="search", tooltip="search the log"),
    Binding("n", "next_match", "next match", show=False, id="next_match", tooltip="next match of the search"),
    Binding("N", "previous_match", "previous match", show=False, id="previous_match",
            tooltip="previous match of the search"),
    Binding("f", "follow", "follow", id="follow", tooltip="follow or pause the log"),
    Binding("t", "timestamps", "timestamps", show=False, id="timestamps", tooltip="timestamps on the log lines"),
    Binding("w", "wrap", "wrap", show=False, id="wrap", tooltip="wrap long log lines"),
    Binding("c", "check", "check", id="check", tooltip="check now"),
    Binding("p", "projects", "projects", show=False, id="projects",
            tooltip="back to the projects screen (when stacktui started outside a project folder)"),
    Binding("question_mark", "help", "help", id="help", tooltip="this help"),
    Binding("q", "quit", "quit", id="quit", tooltip="quit"),
]

# Keys of the widgets under the app's own (the table's select, the screen's focus moves), by
# their binding's action: what each does here, in the help beside the app's.
WIDGET_ACTIONS = {
    "select_cursor": "logs of the selected service (in the table)",
    "focus_next": "move between table, findings and log",
    "focus_previous": "move back between log, findings and table",
}


def help_rows(app: "App") -> list[tuple[str, str]]:
    """(keys, what they do) for every app binding with a tooltip, keys as bound now, then the widgets'."""
    bound: dict[str, list[str]] = {}
    widgets: dict[str, list[str]] = {}
    for active in app.active_bindings.values():
        binding = active.binding
        shown = app.get_key_display(binding)
        action = binding.action.removeprefix("app.")  # the screen binds tab to app.focus_next
        if active.node is app:
            keys = bound.setdefault(binding.action, [])
        elif action in WIDGET_ACTIONS:
            keys = widgets.setdefault(action, [])
        else:
            continue
        if shown not in keys:
            keys.append(shown)
    rows = []
    for binding in type(app).BINDINGS:
        if not isinstance(binding, Binding) or not binding.tooltip:
            continue
        if any(binding.action == b for b, _ in rows):
            continue
        keys = bound.get(binding.action) or [app.get_key_display(binding)]
        rows.append((binding.action, (" / ".join(keys), binding.tooltip)))
    rows += [(action, (" / ".join(widgets[action]), what)) for action, what in WIDGET_ACTIONS.items()
             if action in widgets]
    return [row for _, row in rows]
