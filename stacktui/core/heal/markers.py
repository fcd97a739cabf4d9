"""One plain line per heal action, for a log pane.

`[heal] mcp-server stranded (vscode restarted) -> restarted, healthy in 0.6 s`

The healer says `heal_started` and then `heal_done` or `heal_failed` for each
service; a reader of the log wants the outcome once, with what was done. So
the start is remembered and the line is made when the outcome arrives. A
backoff (an owner that keeps dying) is an action too: the healer held back.
Events arrive on the healer's threads; a lock keeps the memory whole.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from stacktui.core.heal import events as ev
from stacktui.core.heal.events import HealEvent
from stacktui.core.sanitize import sanitize
from stacktui.core.durations import seconds

PREFIX = "[heal]"


@dataclass(frozen=True)
class Marker:
    service: str  # whose log the line goes into
    text: str
    failed: bool = False


class HealMarkers:
    """Feed it every HealEvent; it returns a Marker for the ones that end an action, else None."""

    def __init__(self) -> None:
        self._started: dict[str, str] = {}  # service -> what its heal does (restart, recreate)
        self._lock = threading.Lock()

    def feed(self, event: HealEvent) -> Marker | None:
        service = event.service
        with self._lock:
            if event.event == ev.HEAL_STARTED and service:
                self._started[service] = event.reason.split(" ", 1)[0] or "restart"
                return None
            if event.event in (ev.HEAL_DONE, ev.HEAL_FAILED) and service:
                action = self._started.pop(service, "restart")
            elif event.event == ev.BACKOFF and (event.owner or service):
                return Marker(event.owner or service or "", f"{PREFIX} {_one_line(event.reason)}", failed=True)
            else:
                return None
        # A stranded joiner names the owner whose start stranded it; an unhealthy service names none.
        how = "recreated" if action == "recreate" else "restarted"
        cause = f"stranded ({event.owner} {how})" if event.owner and event.owner != service else "unhealthy"
        if event.event == ev.HEAL_DONE:
            took = f" in {seconds(event.elapsed_s)}" if event.elapsed_s is not None else ""
            return Marker(service, f"{PREFIX} {service} {cause} -> {_past(action)}, healthy{took}")
        return Marker(service, f"{PREFIX} {service} {cause} -> {action} failed: {_one_line(event.reason)}",
                      failed=True)


def _past(action: str) -> str:
    return {"restart": "restarted", "recreate": "recreated"}.get(action, action)


def _one_line(text: str) -> str:
    """Reasons can quote the engine or a container: one line, control characters made visible."""
    return sanitize(" ".join(text.split()))
