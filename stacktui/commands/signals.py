"""SIGINT and SIGTERM handled by a command while it runs, then put back: the one place that swaps them.
And a reader of standard output that went away (`stacktui status | head -1`): quiet, as Unix tools are.

Only the main thread may set handlers; elsewhere (a command driven from a test's thread) the
handlers are left as they are.
"""
from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from typing import Any, Callable, Iterator

# What a shell reports for a tool ended by SIGPIPE (`yes | head -1`: 141). Python ignores SIGPIPE
# and raises BrokenPipeError instead, so the status is given by hand.
OUTPUT_CLOSED = 128 + signal.SIGPIPE

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
        for number, old in previous.items():
            signal.signal(number, old)


def stdout_gone() -> bool:
    """Standard output is a pipe whose reader has closed it (not an engine socket's broken pipe)."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # closed, or not a real file (a test's capture)
        return False


def output_closed() -> int:
    """After a BrokenPipeError on standard output: no message, no traceback, the conventional status.

    Python's own recipe: standard output goes to /dev/null from here on, so the flush at exit
    (whatever is still buffered) does not fail a second time with "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return OUTPUT_CLOSED
