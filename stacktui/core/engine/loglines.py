"""One line of a container's log, as the stream decodes it and the store keeps it.

Apart from the stream's parser so that the store, and the TUI's start-up with it, need not
import the parser (datetime, calendar, the frame header) to know what a line is.
"""
from __future__ import annotations

from typing import NamedTuple

STDOUT, STDERR, TTY, EVENT = 1, 2, 0, 3


class LogLine(NamedTuple):
    """One line of one service's log. A tuple: a flood creates 200,000 of these a second."""

    service: str
    key: int  # engine timestamp, nanoseconds since the epoch: orders the merged view
    text: str  # already sanitized (stacktui.core.sanitize)
    stream: int = STDOUT  # STDOUT, STDERR, TTY (raw terminal output) or EVENT (an engine event marker)

    @property
    def is_event(self) -> bool:
        return self.stream == EVENT
