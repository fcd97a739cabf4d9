"""What the healer says: one HealEvent per thing it saw or did, as a JSON line or a readable line."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

WATCHING, STALE, HEAL_STARTED, HEAL_DONE, HEAL_FAILED = "watching", "stale", "heal_started", "heal_done", "heal_failed"
BACKOFF, ENGINE_LOST, ENGINE_BACK = "backoff", "engine_lost", "engine_back"
# Beyond the list: a wait for another plan's lock, and a file problem reported once.
# `unhealthy`: a service unhealthy at N checks in a row (restarted only with --heal-unhealthy).
# `refused`: a compose file stacktui will not read (nothing is done to that project until it is fixed).
WAITING, FINDING, UNHEALTHY, REFUSED = "waiting", "finding", "unhealthy", "refused"
KINDS = (WATCHING, STALE, HEAL_STARTED, HEAL_DONE, HEAL_FAILED, BACKOFF, ENGINE_LOST, ENGINE_BACK, WAITING, FINDING,
         UNHEALTHY, REFUSED)


@dataclass(frozen=True)
class HealEvent:
    event: str  # one of KINDS
    project: str
    service: str | None = None
    owner: str | None = None  # the namespace owner whose start (or death) this is about
    reason: str = ""
    elapsed_s: float | None = None  # heal_done: from the owner's start to this joiner's gates passing
    logs: tuple[str, ...] = ()  # backoff: the owner's last log lines
    time: float = field(default_factory=time.time)
    file: str | None = None  # refused: the compose file and line the refusal points at
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(self.time, timezone.utc).isoformat(timespec="milliseconds"),
            "event": self.event, "project": self.project, "service": self.service, "owner": self.owner,
            "reason": self.reason,
            "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
        }
        if self.logs:
            out["last_logs"] = list(self.logs)
        if self.event == REFUSED:
            out["file"], out["line"] = self.file, self.line
        return out

    def text(self) -> str:
        """One line: `HH:MM:SS event project/service (owner X): reason [1.23 s]` (logs indented below)."""
        stamp = datetime.fromtimestamp(self.time).strftime("%H:%M:%S")
        who = self.project + (f"/{self.service}" if self.service else "")
        owner = f" (owner {self.owner})" if self.owner else ""
        took = f" [{self.elapsed_s:.2f} s]" if self.elapsed_s is not None else ""
        where = f"{self.file}:{self.line}: " if self.file and self.line else f"{self.file}: " if self.file else ""
        line = f"{stamp} {self.event:<12} {who}{owner}: {where}{self.reason}{took}"
        return "\n".join([line, *(f"    | {entry}" for entry in self.logs)])
