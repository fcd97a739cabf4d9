"""SIGINT and SIGTERM handled by a command while it runs, then put back: the one place that swaps them.

Only the main thread may set handlers; elsewhere (a command driven from a test's thread) the
handlers are left as they are.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

Handler = Callable[[int, Any], None]


@contextlib.contextmanager
def handled(handler: Handler) -> Iterator[None]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
