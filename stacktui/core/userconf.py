"""The user's own commands (`[[commands]]`) and hooks (`[[hooks]]`) in config.toml: their schema,
checked entry by entry with the line each field is on, and the placeholders filled in.

A bad entry is one ConfigError naming `config.toml:LINE` and the fix; the other entries are
kept, so the TUI can leave the bad one out and say so while the CLI exits 2 on it.

Placeholders (`{service}`, `{container}`, `{project}`, `{port}`, `{owner}`) are filled in
quoted for the shell (shlex.quote), so a value can never become shell syntax. `${VAR}` is the
shell's and is left alone, as are braces around anything that is not a name (`awk '{print $1}'`);
`{{` and `}}` are literal braces. A placeholder written inside quotes would be quoted twice over
(`'{service}'` becomes `''db''`), so that is refused at load time too.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.keynames import is_key_name, normalize_keys

PLACEHOLDERS = ("service", "container", "project", "port", "owner")
# Placeholders that need a service to be filled (every one but {project}).
SERVICE_PLACEHOLDERS = frozenset(PLACEHOLDERS) - {"project"}
INTERACTIVE, OUTPUT = "interactive", "output"
MODES = (INTERACTIVE, OUTPUT)
COMMAND_TIMEOUT = 30.0  # seconds an output command may run
HOOK_TIMEOUT = 10.0  # seconds a hook may run
MAX_TIMEOUT = 3600.0
# The watcher's events a hook may be run on (core.heal.events' names).
HOOK_EVENTS = ("stale", "heal_done", "heal_failed", "backoff", "unhealthy", "refused", "engine_lost")

COMMAND_FIELDS = {
    "name": 'the name shown in the palette and in ?, e.g. name = "psql"',
    "key": 'a key that runs it (optional), e.g. key = "P"',
    "services": 'the services it is offered on (optional, default every one), e.g. services = ["db"]',
    "run": 'a command run in the selected service\'s container, e.g. run = "psql -U postgres"',
    "host": 'a command run on the host, e.g. host = "curl -s localhost:{port}/metrics"',
    "mode": 'interactive (the TUI steps aside) or output (shown in a dialog), e.g. mode = "output"',
    "timeout": "seconds an output command may run (default 30), e.g. timeout = 30",
}
HOOK_FIELDS = {
    "name": 'a name for its messages (optional), e.g. name = "desktop"',
    "on": f'the events it runs on (default all), any of {", ".join(HOOK_EVENTS)}, e.g. on = ["heal_failed"]',
    "run": 'the command run on the host with the event\'s JSON on stdin, e.g. run = "notify-send stacktui"',
    "timeout": "seconds it may run (default 10), e.g. timeout = 10",
}

# A brace token of a template: a literal brace pair, the shell's own ${...}, or a placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\$\{|\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class UserCommand:
    """One `[[commands]]` entry: run in a container (`run`) or on the host (`host`)."""

    name: str
    run: str | None = None
    host: str | None = None
    mode: str = OUTPUT
    key: str | None = None
    services: tuple[str, ...] = ()  # empty: every service
    timeout: float = COMMAND_TIMEOUT
    line: int = field(default=0, compare=False)  # of its [[commands]] header

    @property
    def template(self) -> str:
        return self.run if self.run is not None else self.host or ""

    @property
    def in_container(self) -> bool:
        return self.run is not None

    @property
    def needs_service(self) -> bool:
        return self.in_container or bool(placeholders_in(self.template) & SERVICE_PLACEHOLDERS)

    def offered_on(self, service: str | None) -> bool:
        if service is None:
            return not self.needs_service
        return not self.services or service in self.services


@dataclass(frozen=True)
class Hook:
    """One `[[hooks]]` entry (or `watch --hook CMD`): a host command run on the events named."""

    run: str
    on: tuple[str, ...] = HOOK_EVENTS
    name: str = ""
    timeout: float = HOOK_TIMEOUT
    line: int = field(default=0, compare=False)  # of its [[hooks]] header

    @property
    def label(self) -> str:
        return self.name or self.run


@dataclass(frozen=True)
class UserEntries:
    """What config.toml's arrays gave: the good entries, and one error per entry left out."""

    commands: tuple[UserCommand, ...] = ()
    hooks: tuple[Hook, ...] = ()
    problems: tuple[ConfigError, ...] = field(default=())


class EntryLines:
    """The line of each field of each `[[name]]` entry: tomllib gives values, not places."""

    _HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
    _TABLE = re.compile(r"^\s*\[")
    _KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self.headers: dict[str, list[int]] = {}
        self.fields: dict[tuple[str, int, str], int] = {}
        current: tuple[str, int] | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if m := self._HEADER.match(line):
                lines = self.headers.setdefault(m.group(1), [])
                lines.append(number)
                current = (m.group(1), len(lines) - 1)
            elif self._TABLE.match(line):
                current = None
            elif current is not None and (m := self._KEY.match(line)):
                key = next(g for g in m.groups() if g is not None)
                self.fields.setdefault((*current, key), number)

    def header(self, array: str, index: int) -> int:
        lines = self.headers.get(array, [])
        return lines[index] if index < len(lines) else 1

    def find(self, array: str, index: int, key: str | None = None) -> int:
        if key is not None and (array, index, key) in self.fields:
            return self.fields[(array, index, key)]
        return self.header(array, index)


def _scan(template: str) -> Iterator[tuple[int, int, str, str | None]]:
    """(start, end, extra, placeholder) for each brace token, reading quotes and backslashes as sh does
    (a backslash escapes the next character outside single quotes). For a placeholder, `extra` is
    the quote it is inside ('' when none); for `{{` or `}}` (placeholder None) it is the brace."""
    quote: str | None = None
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and quote != "'":
            i += 2
            continue
        if char in "'\"":
            quote = None if quote == char else (quote or char)
            i += 1
            continue
        m = _TOKEN.match(template, i)
        if m is None:
            i += 1
            continue
        token, name = m.group(0), m.group(1)
        if name is not None:
            yield m.start(), m.end(), quote or "", name
        elif token in ("{{", "}}"):
            yield m.start(), m.end(), token[0], None
        i = m.end()


def placeholders_in(template: str) -> set[str]:
    return {name for _, _, _, name in _scan(template) if name}


def check_template(template: str) -> str | None:
    """What is wrong with a command's placeholders (unknown, or inside quotes), or None."""
    for _, _, quote, name in _scan(template):
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}"
        if quote:
            return f"{{{name}}} is inside quotes"
    return None


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value, quoted for the shell (a template
    check_template accepted: no placeholder inside quotes)."""
    out: list[str] = []
    at = 0
    for start, end, literal, name in _scan(template):
        out.append(template[at:start])
        out.append(shlex.quote(values[name]) if name is not None else literal)
        at = end
    out.append(template[at:])
    return "".join(out)


def parse_entries(data: Mapping[str, Any], path: Path, lines: EntryLines, taken: Mapping[str, str]) -> UserEntries:
    """The `commands` and `hooks` arrays of a parsed config.toml. `taken`: key -> what holds it already
    (the built-in actions as the keymap binds them, and the keys Textual keeps)."""
    commands: list[UserCommand] = []
    hooks: list[Hook] = []
    problems: list[ConfigError] = []
    keys = dict(taken)
    names: set[str] = set()
    for array, _fields in (("commands", COMMAND_FIELDS), ("hooks", HOOK_FIELDS)):
        value = data.get(array)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            problems.append(ConfigError(f"`{array}` must be an array of tables", where=SourceRef(path, 1),
                                        hint=f"write [[{array}]] on its own line before each entry's fields"))
            continue
        for index, table in enumerate(value):
            try:
                if array == "commands":
                    command = _command(table, path, lines, index, keys, names)
                    commands.append(command)
                    names.add(command.name)
                    if command.key:
                        keys[command.key] = f"the command {command.name!r}"
                else:
                    hooks.append(_hook(table, path, lines, index))
            except ConfigError as exc:
                problems.append(exc)
    return UserEntries(tuple(commands), tuple(hooks), tuple(problems))


def _command(table: Mapping[str, Any], path: Path, lines: EntryLines, index: int, keys: Mapping[str, str],
             names: set[str]) -> UserCommand:
    def where(key: str | None = None) -> SourceRef:
        return SourceRef(path, lines.find("commands", index, key))

    _unknown_fields(table, COMMAND_FIELDS, "commands", where)
    name = _string(table, "name", where, COMMAND_FIELDS, required=True)
    assert name is not None
    if name in names:
        raise ConfigError(f"a second command named {name!r}", where=where("name"),
                          hint="give each command its own name")
    run = _string(table, "run", where, COMMAND_FIELDS)
    host = _string(table, "host", where, COMMAND_FIELDS)
    if (run is None) == (host is None):
        raise ConfigError(f"the command {name!r} needs one of run or host" if run is None else
                          f"the command {name!r} has both run and host", where=where("host" if host else None),
                          hint="run = \"...\" runs in the selected service's container, host = \"...\" on the host")
    template_key = "run" if run is not None else "host"
    problem = check_template(run if run is not None else host or "")
    if problem:
        raise ConfigError(f"{problem} in the command {name!r}", where=where(template_key),
                          hint=f"the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}; they are "
                               "filled in quoted, so write them without quotes; {{ and }} are literal braces")
    mode = _string(table, "mode", where, COMMAND_FIELDS) or OUTPUT
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r} is not interactive or output", where=where("mode"),
                          hint='write mode = "interactive" (the TUI steps aside) or mode = "output" (a dialog)')
    key = _string(table, "key", where, COMMAND_FIELDS)
    if key is not None:
        if not is_key_name(key):
            raise ConfigError(f"{key!r} is not a key", where=where("key"),
                              hint='write one character ("x") or a key name ("f5", "ctrl+x")')
        key = normalize_keys(key)
        if key in keys:
            raise ConfigError(f"{key} is already {keys[key]}, not free for the command {name!r}", where=where("key"),
                              hint="choose another key; `stacktui config` lists the keys in use")
    services = table.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
        raise ConfigError("services must be a list of service names", where=where("services"),
                          hint=f"write {COMMAND_FIELDS['services'].split('e.g. ')[1]}")
    timeout = _timeout(table, where, COMMAND_TIMEOUT)
    return UserCommand(name=name, run=run, host=host, mode=mode, key=key, services=tuple(services),
                       timeout=timeout, line=lines.header("commands", index))


def _hook(table: Mapping[str, Any], path: Path, lines: EntryLines, index: int) -> Hook:
    def where(key: str | None = None) -> SourceRef:
        return SourceRef(path, lines.find("hooks", index, key))

    if "host" in table and "run" not in table:
        raise ConfigError("a hook runs on the host: its command is `run`", where=where("host"),
                          hint='write run = "..." instead of host = "..."')
    _unknown_fields(table, HOOK_FIELDS, "hooks", where)
    run = _string(table, "run", where, HOOK_FIELDS, required=True)
    assert run is not None
    on = table.get("on", list(HOOK_EVENTS))
    if isinstance(on, str):
        on = [on]
    if not isinstance(on, list) or not on or not all(isinstance(e, str) for e in on):
        raise ConfigError("on must be a list of event names", where=where("on"),
                          hint=f"write {HOOK_FIELDS['on'].split('e.g. ')[1]}")
    unknown = [e for e in on if e not in HOOK_EVENTS]
    if unknown:
        raise ConfigError(f"unknown event {unknown[0]!r} in on", where=where("on"),
                          hint=f"the events are {', '.join(HOOK_EVENTS)}")
    name = _string(table, "name", where, HOOK_FIELDS) or ""
    return Hook(run=run, on=tuple(dict.fromkeys(on)), name=name, timeout=_timeout(table, where, HOOK_TIMEOUT),
                line=lines.header("hooks", index))


def _unknown_fields(table: Mapping[str, Any], fields: Mapping[str, str], array: str, where: Any) -> None:
    for key in table:
        if key not in fields:
            raise ConfigError(f"unknown field {key!r} in [[{array}]]", where=where(key),
                              hint=f"the fields are {', '.join(fields)}")


def _string(table: Mapping[str, Any], key: str, where: Any, fields: Mapping[str, str], *,
            required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"this entry has no {key}", where=where(None),
                              hint=f"add {fields[key].split('e.g. ')[1]}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string", where=where(key),
                          hint=f"write {fields[key].split('e.g. ')[1]}")
    return value


def _timeout(table: Mapping[str, Any], where: Any, default: float) -> float:
    value = table.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
        raise ConfigError(f"timeout must be seconds, more than 0 and at most {MAX_TIMEOUT:g}", where=where("timeout"),
                          hint=f"write e.g. timeout = {default:g}")
    return float(value)
