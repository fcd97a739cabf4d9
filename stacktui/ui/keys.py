"""The app's keys, and the help built from them: one list, so a keymap that moves a key moves it in the help.

Each Binding carries its help line as its tooltip (the footer shows it on hover
too). Users remap keys by binding id in config.toml's [keys] (applied with `App.update_keymap`);
`help_rows` reads the keys as they are bound now.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding, BindingType

from stacktui.core.settings import KEY_ACTIONS

if TYPE_CHECKING:
    from textual.app import App

# Keys that open a field, handled by the app as they arrive (priority), before the keys typed after
# them: those are the field's. Handed on when a field has the keys (StackApp.check_action), so `/`
# and `&` can be typed there; over a dialog they do nothing.
FIELD_ACTIONS = ("search", "filter")

# One Binding per remappable action, made from core's list (core.settings.KEY_ACTIONS: the one
# list the settings file's [keys] are checked against, without Textual), its help line the tooltip.
BINDINGS: list[BindingType] = [Binding(a.key, a.app_action, a.label, show=a.show, id=a.id, tooltip=a.description,
                    priority=a.app_action in FIELD_ACTIONS) for a in KEY_ACTIONS]

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
    rows: list[tuple[str, tuple[str, str]]] = []
    for declared in type(app).BINDINGS:
        if not isinstance(declared, Binding) or not declared.tooltip:
            continue
        if any(declared.action == b for b, _ in rows):
            continue
        keys = bound.get(declared.action) or [app.get_key_display(declared)]
        rows.append((declared.action, (" / ".join(keys), declared.tooltip)))
    rows += [(action, (" / ".join(widgets[action]), what)) for action, what in WIDGET_ACTIONS.items()
             if action in widgets]
    return [row for _, row in rows]
