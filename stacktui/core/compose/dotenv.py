"""`.env` files read by the rules of Compose's own reader (compose-go's dotenv), without interpolation.

What Compose accepts is accepted here: a key of letters, digits, `_` and `.` (a digit first
is fine), `KEY=value` or `KEY: value`, `export KEY=...`, a bare `KEY` (taken from the
environment, so nothing here), a quoted value that spans lines, `\\n` in double quotes,
and `#` ending an unquoted value wherever it stands. What Compose refuses is refused with
the line: a space inside a key, another character in it, a quote that is never closed.
"""
from __future__ import annotations

import re
from pathlib import Path

from stacktui.core.errors import ConfigError, SourceRef

_SPACE = " \t\v\f\r\x85\xa0"  # spaces that are not line breaks
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _key_char(ch: str) -> bool:
    return ch.isalpha() or ch.isnumeric() or ch in "_."


def _unescape(value: str) -> str:
    """Double quotes: \\n and \\r become line breaks, a backslash before anything but `$` goes."""
    def one(m: re.Match[str]) -> str:
        c = m.group(1)
        return {"n": "\n", "r": "\r"}.get(c, c if c != "$" else m.group(0))

    return _ESCAPE.sub(one, value)


def parse_dotenv(text: str, path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    pos, end = 0, len(text)

    def fail(message: str, at: int) -> ConfigError:
        return ConfigError(f"invalid line in env file: {message}", where=SourceRef(path, text.count("\n", 0, at) + 1))

    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return values
        if text[pos] == "#":
            newline = text.find("\n", pos)
            if newline < 0:
                return values
            pos = newline
            continue
        start = pos
        if text.startswith("export", pos) and pos + 6 < end and text[pos + 6] in _SPACE:
            pos += 6
            while pos < end and text[pos] in _SPACE:
                pos += 1
        key_start = pos
        while pos < end and text[pos] not in "=:\n":
            ch = text[pos]
            if not (_key_char(ch) or ch in _SPACE):
                line = text[start:text.find("\n", start) if "\n" in text[start:] else end]
                raise fail(f"unexpected character {ch!r} in variable name: {line.strip()!r}", start)
            pos += 1
        key = text[key_start:pos].rstrip()
        if not key:
            raise fail("no variable name before the value", start)
        if any(ch in _SPACE for ch in key):
            raise fail(f"a variable name cannot contain a space: {key!r}", start)
        if pos >= end or text[pos] == "\n":
            continue  # a bare name takes its value from the environment in Compose
        pos += 1
        while pos < end and text[pos] in _SPACE:
            pos += 1
        quote = text[pos] if pos < end and text[pos] in "'\"" else ""
        if not quote:
            newline = text.find("\n", pos)
            raw = text[pos:newline if newline >= 0 else end]
            values[key] = raw.split("#", 1)[0].rstrip()
            pos = newline if newline >= 0 else end
            continue
        close = pos + 1
        while True:
            close = text.find(quote, close)
            if close < 0:
                raise fail(f"the quoted value of {key} is never closed", start)
            if text[close - 1] != "\\":
                break
            close += 1
        value = text[pos + 1:close]
        values[key] = _unescape(value) if quote == '"' else value
        pos = close + 1


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE entries of an env file, as Compose reads them (values not interpolated)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read env file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"env file {path} is not UTF-8 text") from exc
    return parse_dotenv(text, path)
