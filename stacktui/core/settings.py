"""The user's settings file, `$XDG_CONFIG_HOME/stacktui/config.toml`, and its schema.

Every command reads it; the TUI also takes its keymap and theme from it. The
schema (the setting names, the key actions and the theme names) lives here so
that core and the CLI can check a file without importing Textual; the UI's
tests check that its Bindings and Textual's themes match these lists.

An invalid file is one ConfigError naming `config.toml:LINE` and the fix.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, get_args, get_type_hints

from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.keynames import is_key_name, normalize_keys
from stacktui.core.userconf import EntryLines, Hook, UserCommand, parse_entries

if TYPE_CHECKING:
    import tomllib

FILE_NAME = "config.toml"


@dataclass(frozen=True)
class KeyAction:
    """One remappable action of the TUI: the Binding id, its default key, what it does, and how the
    app binds it (its footer label, shown there or not, the app's action when it is not the id)."""

    id: str
    key: str
    description: str
    label: str = ""
    show: bool = True
    action: str = ""

    @property
    def app_action(self) -> str:
        return self.action or self.id


# The TUI's remappable actions, in the order the help lists them: the app's Bindings are made
# from this list (ui.keys), and [keys] in config.toml is checked against it, without Textual.
KEY_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("restart", "r", "restart the selected service and its namespace dependants, in order, with health gates",
              "restart"),
    KeyAction("restart_all", "R", "restart the whole stack in order", "restart all", show=False),
    KeyAction("separate", "b", "give the selected service its own namespaces again (diff, confirm, apply)", "split"),
    KeyAction("share", "s", "share another service's namespaces again (diff, confirm, apply)", "share"),
    KeyAction("undo", "u", "undo the last layout change (diff, confirm, apply)", "undo"),
    KeyAction("logs", "l", "logs of the selected service", "logs", show=False, action="logs_selected"),
    KeyAction("merged", "m", "merged logs of every service", "merged"),
    KeyAction("search", "slash", "search the log", "find"),
    KeyAction("next_match", "n", "next match of the search", "next match", show=False),
    KeyAction("previous_match", "N", "previous match of the search", "previous match", show=False),
    KeyAction("follow", "f", "follow or pause the log", "follow"),
    KeyAction("timestamps", "t", "timestamps on the log lines", "timestamps", show=False),
    KeyAction("wrap", "w", "wrap long log lines", "wrap", show=False),
    KeyAction("check", "c", "check now", "check"),
    KeyAction("shell", "e", "a shell in the selected service's container (bash, else sh)", "shell"),
    KeyAction("details", "d", "CPU and memory of the selected service over the last minutes", "details", show=False),
    KeyAction("filter", "ampersand", "show only the log lines that match (text, or /regex/)", "filter", show=False),
    KeyAction("save", "ctrl+s", "save the log pane (or the filtered lines) to a file", "save log", show=False),
    KeyAction("projects", "p", "the projects screen: every project on the engine, this one selected", "projects",
              show=False),
    KeyAction("heal", "H", "self-heal on or off for this project: stranded joiners are restarted in order as soon "
                           "as their owner is back", "heal", show=False),
    KeyAction("kube_export", "K", "the project as Kubernetes objects (each namespace group one Pod): shown, "
              "written to k8s/ on confirmation", "kubernetes", show=False),
    KeyAction("help", "question_mark", "this help", "help"),
    KeyAction("quit", "q", "quit", "quit"),
)
ACTION_IDS = tuple(a.id for a in KEY_ACTIONS)

# Keys the TUI or Textual itself uses outside the remappable actions: binding one of them to
# an action would shadow moving between panes, the command palette or quitting.
RESERVED_KEYS = {"tab": "moves between panes", "shift+tab": "moves between panes",
                 "ctrl+p": "opens the command palette", "ctrl+q": "quits", "ctrl+c": "copies",
                 "enter": "opens the selection", "escape": "closes dialogs and search",
                 "up": "moves the selection", "down": "moves the selection"}

# Textual's built-in themes (textual.theme.BUILTIN_THEMES; a UI test keeps the two equal).
THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "catppuccin-mocha", "dracula", "tokyo-night",
          "monokai", "flexoki", "catppuccin-latte", "catppuccin-frappe", "catppuccin-macchiato",
          "solarized-light", "solarized-dark", "rose-pine", "rose-pine-moon", "rose-pine-dawn",
          "atom-one-dark", "atom-one-light", "ansi-dark", "ansi-light")

Problem = tuple[str, str] | None  # (what is wrong, the fix)


@dataclass(frozen=True)
class Spec:
    """What the file may say for one setting: the parser's check, its messages, `stacktui config`
    and the README's example are all made from this."""

    expects: str  # "a number of lines of at least 100": the wrong-type message says it
    example: str  # the value as a user writes it, for the fix ("20000")
    meaning: str  # one line: the comment in the README's example file
    check: Callable[[Any], Problem] | None = None  # a value of the right type that is still wrong


def setting(default: Any, expects: str, example: str, meaning: str,
            check: Callable[[Any], Problem] | None = None) -> Any:
    """A Settings field with its Spec: each setting is declared once, here."""
    return field(default=default, metadata={"spec": Spec(expects, example, meaning, check)})


def _theme(value: str) -> Problem:
    return None if value in THEMES else (f"unknown theme {value!r}", f"one of: {', '.join(THEMES)}")


def _log_history(value: int | str) -> Problem:
    bad = value != "all" if isinstance(value, str) else value < 0
    return (f"log_history {value!r} is not a number of lines or \"all\"", "write e.g. log_history = 1000") if bad \
        else None


def _log_since(value: str) -> Problem:
    return ((f"log_since {value!r} is not a duration", 'write a number and s, m, h or d: "30s", "10m", "1h30m"')
            if value and parse_duration(value) is None else None)


def _at_least(name: str, low: float, fix: str) -> Callable[[Any], Problem]:
    return lambda value: (f"{name} {value:g} is too small", fix) if value < low else None


def _heal_backoff(value: float) -> Problem:
    return None if 0 < value <= 300 else (f"heal_backoff {value:g} is out of range",
                                          "write more than 0 and at most 300 seconds, e.g. heal_backoff = 1")


def _probe_interval(value: float) -> Problem:
    return ("probe_interval cannot be negative", "write 0 to turn the probes off") if value < 0 else None


def _resource_refresh(value: float) -> Problem:
    return ((f"resource_refresh {value:g} is out of range", "write 0 (off) or at least 0.5 seconds")
            if value < 0 or 0 < value < 0.5 else None)


@dataclass(frozen=True)
class Settings:
    """The effective settings: the file's values over these defaults. Each field with a Spec is a
    setting of config.toml; its type is the type the file must give (a float takes an integer)."""

    theme: str = setting("textual-dark", "a theme name", '"textual-light"',
                         'any of Textual\'s themes, e.g. "textual-light", "nord", "solarized-light"', _theme)
    log_history: int | str = setting(1000, 'a number of lines or "all"', "1000",
                                     'past lines read per container at start, or "all"', _log_history)
    log_lines: int = setting(20_000, "a number of lines of at least 100", "20000",
                             "lines kept per service (at least 100)",
                             _at_least("log_lines", 100, "keep at least 100 lines per service"))
    log_since: str = setting("", 'a duration such as "10m" or "1h30m", "" for none', '"1h"',
                             'history from this long ago ("10m", "1h30m") instead of log_history lines', _log_since)
    probe_interval: float = setting(5.0, "seconds, 0 for none", "5",
                                    "seconds between x-stacktui.health probes; 0 turns them off", _probe_interval)
    resource_refresh: float = setting(2.0, "seconds of at least 0.5, 0 for none", "2",
                                      "seconds between CPU/memory/network figures; 0 turns them off", _resource_refresh)
    heal: bool = setting(False, "true or false", "false",
                         "`stacktui watch` heals without being given --heal; the TUI starts with H on")
    heal_backoff: float = setting(1.0, "seconds, more than 0 and at most 300", "1",
                                  "seconds of the first backoff wait for a crash-looping owner (doubling to 5 min)",
                                  _heal_backoff)
    heal_unhealthy: bool = setting(False, "true or false", "false",
                                   "`stacktui watch` restarts services unhealthy at unhealthy_checks checks in a row")
    unhealthy_checks: int = setting(3, "a number of checks of at least 1", "3",
                                    "consecutive unhealthy checks (one every probe_interval seconds) before that",
                                    _at_least("unhealthy_checks", 1, "write at least 1, e.g. unhealthy_checks = 3"))
    keys: Mapping[str, str] = field(default_factory=dict)  # Binding id -> key, as the file gives them
    commands: tuple[UserCommand, ...] = ()  # [[commands]]: the user's own, in the palette, ? and on keys
    hooks: tuple[Hook, ...] = ()  # [[hooks]]: host commands run on the watcher's events
    # One error per [[commands]] or [[hooks]] entry left out: the CLI exits 2 on the first, the TUI
    # says each and runs without those entries.
    problems: tuple[ConfigError, ...] = field(default=(), compare=False, repr=False)
    path: Path | None = None  # the file read; None when none was there

    def keymap(self) -> dict[str, str]:
        """Every action's effective key (Textual's key names: `slash`, not `/`)."""
        return {a.id: normalize_keys(self.keys.get(a.id, a.key)) for a in KEY_ACTIONS}


def _specs() -> dict[str, tuple[Spec, tuple[type, ...], Any]]:
    """name -> (its Spec, the types the file may give, the default), in declared order."""
    hints = get_type_hints(Settings)
    out = {}
    for f in fields(Settings):
        if "spec" in f.metadata:
            types = tuple(get_args(hints[f.name]) or (hints[f.name],))
            out[f.name] = (f.metadata["spec"], (int, *types) if float in types else types, f.default)
    return out


SETTINGS = _specs()


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/stacktui/config.toml`, `~/.config/stacktui/config.toml` without it."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "stacktui" / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The settings in the file (defaults where it says nothing; all defaults without a file)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="make it a readable UTF-8 text file") from exc
    return parse_settings(text, path)


def parse_settings(text: str, path: Path) -> Settings:
    import tomllib  # only when there is a file: most starts have none (3-4 ms of start-up)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _decode_error_line(exc, text)
        message = re.sub(r" \(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(f"not valid TOML: {message}", where=SourceRef(path, line),
                          hint="see https://toml.io; strings need quotes, e.g. theme = \"nord\"") from None
    lines = _LineFinder(text)
    values: dict[str, Any] = {}
    for name, value in data.items():
        where = SourceRef(path, lines.find(None, name))
        if name in ("commands", "hooks"):
            continue  # below, once the keys they may not take are known
        if name == "keys":
            if not isinstance(value, dict):
                raise ConfigError("`keys` must be a table", where=where,
                                  hint='write [keys] on its own line, then e.g. restart = "x"')
            values["keys"] = _check_keys(value, path, lines)
            continue
        if name not in SETTINGS:
            raise ConfigError(f"unknown setting {name!r}", where=where,
                              hint=f"the settings are {', '.join(SETTINGS)}, the [keys] table, [[commands]] "
                                   "and [[hooks]]")
        values[name] = _check_scalar(name, value, where)
    settings = Settings(**values)
    taken = {key: f"bound to {action}" for action, keys in settings.keymap().items() for key in keys.split(",")}
    taken.update({key: f"kept by stacktui: it {what}" for key, what in RESERVED_KEYS.items()})
    entries = parse_entries(data, path, EntryLines(text), taken)
    return replace(settings, commands=entries.commands, hooks=entries.hooks, problems=entries.problems, path=path)


def _check_scalar(name: str, value: Any, where: SourceRef) -> Any:
    spec, types, _default = SETTINGS[name]
    # TOML booleans are ints to Python: a number setting must not take `true`.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ConfigError(f"{name} must be {spec.expects}, not {_shown(value)}", where=where,
                          hint=f"write {name} = {spec.example}")
    problem = spec.check(value) if spec.check is not None else None
    if problem:
        raise ConfigError(problem[0], where=where, hint=problem[1])
    if float in types and isinstance(value, int):
        return float(value)
    return value


def _check_keys(table: dict[str, Any], path: Path, lines: "_LineFinder") -> dict[str, str]:
    out: dict[str, str] = {}
    for action_id, key in table.items():
        where = SourceRef(path, lines.find("keys", action_id))
        if action_id not in ACTION_IDS:
            close = [a for a in ACTION_IDS if a.startswith(action_id[:3])]
            raise ConfigError(f"unknown action {action_id!r} in [keys]", where=where,
                              hint=(f"did you mean {close[0]!r}? " if close else "")
                              + f"the actions are {', '.join(ACTION_IDS)}")
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"the key for {action_id} must be a string, not {_shown(key)}", where=where,
                              hint=f'write e.g. {action_id} = "x"')
        for part in key.split(","):
            if not is_key_name(part.strip()):
                raise ConfigError(f"{part.strip()!r} is not a key", where=where,
                                  hint='write one character ("x", "/") or a key name ("f5", "ctrl+x", "slash")')
        out[action_id] = key
    # Two actions on one key: the later would silently win in the app.
    owner: dict[str, str] = {}
    for action in KEY_ACTIONS:
        for key in normalize_keys(out.get(action.id, action.key)).split(","):
            if key in RESERVED_KEYS:
                raise ConfigError(f"{key} is not free for {action.id}: it {RESERVED_KEYS[key]}",
                                  where=SourceRef(path, lines.find("keys", action.id)), hint="choose another key")
            if key in owner:
                first, second = owner[key], action.id
                # The line to name: the one the file wrote last of the two (a default has none).
                written = [a for a in (first, second) if a in out]
                culprit = max(written, key=lambda a: lines.find("keys", a))
                other = first if culprit == second else second
                raise ConfigError(f"{key} is bound to both {first} and {second}",
                                  where=SourceRef(path, lines.find("keys", culprit)),
                                  hint=f"give {other} another key too, or choose another key for {culprit}")
            owner[key] = action.id
    return out


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """Seconds in "90s", "10m", "1h30m", "2d" (a bare number is seconds); None when it is not one."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if not text or _DURATION.sub("", text).strip():
        return None
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))


def to_toml(settings: Settings) -> str:
    """The effective settings as a file that would give them (`stacktui config` prints it)."""
    out = [f"{name} = {_toml_value(getattr(settings, name))}" for name in SETTINGS]
    out.append("")
    out.append("[keys]")
    for action in KEY_ACTIONS:
        key = settings.keys.get(action.id, action.key)
        mark = "" if action.id in settings.keys else "  # default"
        out.append(f"{action.id} = {_toml_value(key)}{mark}")
    for command in settings.commands:
        out += ["", "[[commands]]", f"name = {_toml_value(command.name)}"]
        if command.key:
            out.append(f"key = {_toml_value(command.key)}")
        if command.services:
            out.append(f"services = [{', '.join(_toml_value(s) for s in command.services)}]")
        where = "run" if command.in_container else "host"
        out += [f"{where} = {_toml_value(command.template)}", f"mode = {_toml_value(command.mode)}",
                f"timeout = {command.timeout!r}"]
    for hook in settings.hooks:
        out += ["", "[[hooks]]"] + ([f"name = {_toml_value(hook.name)}"] if hook.name else [])
        out += [f"on = [{', '.join(_toml_value(e) for e in hook.on)}]", f"run = {_toml_value(hook.run)}",
                f"timeout = {hook.timeout!r}"]
    return "\n".join(out) + "\n"


def example_toml() -> str:
    """Every setting at its default, each with what it means: the README's example file."""
    lines = [f"{name} = {_toml_value(default)}".ljust(27) + " # " + spec.meaning
             for name, (spec, _types, default) in SETTINGS.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's basic string's
    return repr(value)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _decode_error_line(exc: "tomllib.TOMLDecodeError", text: str) -> int:
    line = getattr(exc, "lineno", None)  # Python 3.14 has it; before, it is only in the message
    if line is None and "end of document" in str(exc):
        line = max(1, len(text.rstrip("\n").splitlines()))
    elif line is None:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else 1
    return int(line)


class _LineFinder:
    """The line a key was written on: tomllib gives values, not places."""

    _TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]")
    _KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self._places: dict[tuple[str | None, str], int] = {}
        table: str | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if m := self._TABLE.match(line):
                table = m.group(1)
                self._places.setdefault((None, table), number)
            elif m := self._KEY.match(line):
                key = next(g for g in m.groups() if g is not None)
                self._places.setdefault((table, key), number)

    def find(self, table: str | None, key: str) -> int:
        return self._places.get((table, key)) or self._places.get((None, table or key)) or 1
