"""What the export could not carry over, each with where it was written and what was done instead."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from stacktui.core.errors import ConfigError, SourceRef


@dataclass(frozen=True)
class Note:
    service: str
    what: str  # what the compose file says that Kubernetes will not do as written
    instead: str  # what the export did instead
    where: SourceRef | None = None

    def text(self, path: Callable[[Any], str] = str) -> str:
        head = f"{path(self.where.file)}:{self.where.line}: " if self.where is not None else ""
        return f"{head}{self.service}: {self.what}; {self.instead}"


@dataclass
class Notes:
    """Collects notes once each, in the order the export met them."""

    locate: Callable[..., SourceRef | None] = field(default=lambda service, *path: None)
    items: list[Note] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, service: str, what: str, instead: str, *path: Any) -> None:
        key = (service, what, instead)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(Note(service, what, instead, self.locate(service, *path)))


class ExportRefused(ConfigError):
    """The compose files cannot be exported as asked (`--strict`, or a problem with no way around it)."""

    def __init__(self, notes: list[Note], path: Callable[[Any], str] = str) -> None:
        lines = [n.text(path) for n in notes]
        first = lines[0] if lines else "nothing to export"
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        super().__init__(f"cannot export: {first}{more}", hint="fix the compose file, or drop --strict")
        self.notes = notes
