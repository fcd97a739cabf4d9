"""What a user does with the log lines they have: keep only the matching ones, and save them.

The filter is a mode beside search: search highlights and jumps, the filter hides
what does not match (by text, case-insensitive, or by a regular expression). Saving
writes exactly the lines shown (all of the pane, or the filtered ones) as plain text.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from stacktui.core.errors import ConfigError
from stacktui.core.settings import parse_duration

SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class LineFilter:
    """Keep the lines that contain `query` (any case), or that match it as a regular expression."""

    query: str
    regex: bool = False

    def __post_init__(self) -> None:
        if self.regex:
            try:
                re.compile(self.query)
            except re.error as exc:
                raise ConfigError(f"not a regular expression: {exc}", hint="escape ( [ . * + ? with \\, "
                                  "or filter by plain text") from None

    @property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(self.query if self.regex else re.escape(self.query), re.IGNORECASE)

    def keep(self, texts: Iterable[str]) -> list[int]:
        """The indexes of the lines that match, in order."""
        search = self._pattern.search
        return [i for i, text in enumerate(texts) if search(text)]

    def describe(self) -> str:
        return f"/{self.query}/" if self.regex else repr(self.query)


def since_ns(text: str, now_ns: int | None = None) -> int:
    """The engine time (ns) `text` ago ("10m", "1h"); ConfigError when it is not a duration."""
    seconds = parse_duration(text)
    if seconds is None:
        raise ConfigError(f"{text!r} is not a duration", hint='write a number and s, m, h or d: "30s", "10m", "1h30m"')
    return (time.time_ns() if now_ns is None else now_ns) - int(seconds * 1e9)


def save_lines(lines: Sequence[str], directory: Path, label: str, *, now: float | None = None) -> Path:
    """Write the lines to a new file in `directory` named after `label` and the time; its path.

    Written under a temporary name and renamed, so a file of that name is always whole; an
    existing file is never overwritten.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"stacktui-{SAFE_NAME.sub('-', label).strip('-') or 'logs'}-{stamp}"
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".stacktui-save-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for line in lines:
                out.write(line + "\n")
        for n in range(1000):
            target = directory / (f"{base}.log" if n == 0 else f"{base}-{n}.log")
            try:
                os.link(tmp, target)  # fails if the name is taken: never overwrite
            except FileExistsError:
                continue
            return target
        raise ConfigError(f"no free file name for {base}.log in {directory}", hint="remove old saved logs")
    finally:
        os.unlink(tmp)
