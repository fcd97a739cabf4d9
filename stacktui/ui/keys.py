"""The app's keys, and the help built from them: one list, so a keymap that moves a key moves it in the help.

Each Binding carries its help line as its tooltip (the footer shows it on hover
too). Users remap keys by binding id in config.toml's [keys] (applied with `App.update_keymap`);
`help_rows` reads the keys as they are bound now.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

from stacktui.core.settings import KEY_ACTIONS

if TYPE_CHECKING:
    from textual.app import App

# Each action's help line is core's (core.settings.KEY_ACTIONS): the one list the settings
# file's [keys] are checked against, without Textual.
_HELP = {action.id: action.description for action in KEY_ACTIONS}


def _bind(key: str, action: str, label: str, id: str, show: bool = True, priority: bool = False) -> Binding:
    return Binding(key, action, label, show=show, id=id, tooltip=_HELP[id], priority=priority)


# Keys that open a field, handled by the app as they arrive (priority), before the keys typed after
# them: those are the field's. Handed on when a field has the keys (StackApp.check_action), so `/`
# and `&` can be typed there; over a dialog they do nothing.
FIELD_ACTIONS = ("search", "filter")


BINDINGS = [
    _bind("r", "restart", "restart", "restart"),
    _bind("R", "restart_all", "restart all", "restart_all", show=False),
    _bind("b", "separate", "split", "separate"),
    _bind("s", "share", "share", "share"),
    _bind("u", "undo", "undo", "undo"),
    _bind("l", "logs_selected", "logs", "logs", show=False),
    _bind("m", "merged", "merged", "merged"),
    _bind("slash", "search", "find", "search", priority=True),
    _bind("n", "next_match", "next match", "next_match", show=False),
    _bind("N", "previous_match", "previous match", "previous_match", show=False),
    _bind("f", "follow", "follow", "follow"),
    _bind("t", "timestamps", "timestamps", "timestamps", show=False),
    _bind("w", "wrap", "wrap", "wrap", show=False),
    _bind("c", "check", "check", "check"),
    _bind("e", "shell", "shell", "shell"),
    _bind("d", "details", "details", "details", show=False),
    _bind("ampersand", "filter", "filter", "filter", show=False, priority=True),
    _bind("ctrl+s", "save", "save log", "save", show=False),
    _bind("p", "projects", "projects", "projects", show=False),
    _bind("H", "heal", "heal", "heal", show=False),
    _bind("K", "kube_export", "kubernetes", "kube_export", show=False),
    _bind("question_mark", "help", "help", "help"),
    _bind("q", "quit", "quit", "quit"),
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
