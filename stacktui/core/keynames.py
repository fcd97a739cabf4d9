"""Key names as Textual spells them (`slash`, `question_mark`, `ctrl+x`): checked and normalized
without importing Textual, for the settings file's [keys] and the user's own commands' keys."""
from __future__ import annotations

import re
import unicodedata

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
NAMED_KEYS = {"up", "down", "left", "right", "home", "end", "pageup", "pagedown", "insert", "delete",
              "backspace", "tab", "enter", "escape", "space"}
# Textual's names for a few characters, where it differs from the character's Unicode name.
_RENAMED = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
            "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}
_UNRENAMED = {v: k for k, v in _RENAMED.items()}


def _char_key(char: str) -> str:
    """A character's key name as Textual spells it (`/` -> `slash`, `?` -> `question_mark`)."""
    if char.isalnum():
        return char
    if char == "\t":
        return "tab"
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return char
    return _RENAMED.get(name, name)


def normalize_keys(keys: str) -> str:
    """A comma-separated key list in Textual's long form, as App.set_keymap stores it."""
    return ",".join(_char_key(k) if len(k) == 1 else k for k in (part.strip() for part in keys.split(",")))


def is_key_name(key: str) -> bool:
    """One character, or a key name with optional modifiers (`f5`, `ctrl+x`, `question_mark`)."""
    if len(key) == 1:
        return key.isprintable() and not key.isspace()
    *mods, base = key.split("+")
    if any(m not in MODIFIERS for m in mods) or not base:
        return False
    if len(base) == 1 or base in NAMED_KEYS or re.fullmatch(r"f([1-9]|1[0-9]|2[0-4])", base):
        return True
    try:  # a character's name, as Textual writes it: question_mark, exclamation_mark, slash
        return len(unicodedata.lookup(_UNRENAMED.get(base, base).replace("_", " "))) == 1
    except KeyError:
        return False
