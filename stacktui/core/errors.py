"""Errors a user can act on: each names the file and line, or the fix."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceRef:
    """Where in a compose file something was written (1-based line)."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class StackError(Exception):
    """Base of the errors stacktui reports to users instead of a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, where: SourceRef | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(StackError):
    """The compose files or the command line are wrong; nothing was changed."""


class EngineUnavailable(StackError):
    """The Docker engine does not answer, or we may not talk to it."""


class ComposeCliMissing(StackError):
    """Neither `docker compose` nor `docker-compose` (v2) can be run."""


class NotRunning(StackError):
    """The service has no running container to act in (a shell, an exec)."""

    exit_code = 1


class Busy(StackError):
    """Another plan holds this project's lock."""

    exit_code = 1


@dataclass(frozen=True)
class PortChoice:
    """One port the namespace owner publishes, as the question about which ports move shows it."""

    port: int
    who: str  # who listens on it and how that is known ("api, listening now"), or "nobody known"
    ticked: bool  # known to be a port of the services that move


class PortsUnknown(ConfigError):
    """stacktui cannot tell which of the owner's ports belong to the service; the user must say."""

    def __init__(self, message: str, *, service: str, candidates: list[int], where: SourceRef | None = None,
                 hint: str | None = None, choices: list[PortChoice] | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.service = service
        self.candidates = candidates
        # Every port the owner publishes, with who listens on it; the candidates ticked.
        self.choices = choices if choices is not None else [PortChoice(p, "", False) for p in candidates]
