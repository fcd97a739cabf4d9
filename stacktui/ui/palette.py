"""The command palette (Ctrl+P): every action with the key it is bound to now.

Built from the app's Bindings and the keymap the app applied (config.toml's [keys], given to
App.update_keymap), so a key remapped there shows as remapped (as in `?`, ui.keys). The
descriptions are core's (core.settings.KEY_ACTIONS), the one list the settings file is checked
against.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from textual.app import SystemCommand
from textual.binding import Binding

from stacktui.core.settings import KEY_ACTIONS

if TYPE_CHECKING:
    from textual.app import App


def current_keys(app: "App", keymap: Mapping[str, str]) -> dict[str, list[str]]:
    """Binding id -> the keys that run it now, as the footer shows them (`x`, `/`, `^s`);
    `keymap` is what the app gave App.update_keymap."""
    out: dict[str, list[str]] = {}
    for binding in app.BINDINGS:
        if not isinstance(binding, Binding) or binding.id is None:
            continue
        keys = keymap.get(binding.id, binding.key)
        out[binding.id] = [app.get_key_display(Binding(k.strip(), binding.action)) for k in keys.split(",")]
    return out


def action_of(app: "App", action_id: str) -> str:
    return next(b.action for b in app.BINDINGS if isinstance(b, Binding) and b.id == action_id)


def binding_commands(app: "App", keymap: Mapping[str, str]) -> Iterable[SystemCommand]:
    """One palette entry per action: its description, and its key as help text."""
    keys = current_keys(app, keymap)
    for action in KEY_ACTIONS:
        if action.id not in keys:
            continue
        name = action_of(app, action.id)

        async def run(name: str = name) -> None:
            await app.run_action(name)

        shown = " or ".join(keys[action.id])
        yield SystemCommand(f"{action.description} ({shown})", f"key: {shown}  ·  action id: {action.id}", run)
