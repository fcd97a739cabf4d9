"""A named background loop owned by one object: started, woken, stopped with a bounded join.

Every thread of stacktui is a Loop (or a Textual worker in the UI): the owner creates it with the function
to run, starts it, wakes it when there is news, and stops it (its stop event set, an optional
`unblock` called to close a stream the body is reading, then a join bounded in time). The body
sleeps with `sleep` (a wake or the stop ends it) or `pause` (only the stop ends it) and returns
when `stopping` is true. An error the body does not handle ends the loop and is logged once;
`Once` runs one function on a Loop and hands back its result; `Reporter` says a
recurring error once, not on every retry.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
_JOIN_STEP = 0.1  # seconds between looks at pending signals while waiting for a loop to end


class Loop:
    """One daemon thread running `body` until it returns or the loop is stopped."""

    def __init__(self, name: str, body: Callable[[], None], *, stop: threading.Event | None = None,
                 unblock: Callable[[], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.name = name
        self.stop_event = stop or threading.Event()  # shared when several loops stop together
        self.error: BaseException | None = None  # what ended the body, if an error did
        self._body = body
        self._unblock = unblock
        self._on_error = on_error
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "Loop":
        """Start the thread (once; a second call does nothing)."""
        with self._lock:
            if self._thread is None and not self.stop_event.is_set():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return self

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Cut the body's current `sleep` short."""
        self._wake.set()

    def sleep(self, seconds: float | None) -> bool:
        """Wait up to `seconds` (None: until woken) for a wake or the stop; True when stopping.
        A wake that came while the body was busy ends the next sleep at once."""
        if not self.stop_event.is_set():
            self._wake.wait(seconds)
            self._wake.clear()
        return self.stop_event.is_set()

    def pause(self, seconds: float) -> bool:
        """Wait `seconds` unless stopped (a wake does not end it); True when stopping."""
        return self.stop_event.wait(seconds)

    def stop(self, wait: float = 0.0) -> bool:
        """Ask the body to end and wait up to `wait` seconds for it; True when it has ended.
        Safe from any thread, the loop's own included (which never waits for itself)."""
        self.stop_event.set()
        self._wake.set()
        if self._unblock is not None:
            try:
                self._unblock()
            except Exception as exc:  # a stream closing on its own at the same moment
                log.debug("%s: unblocking on stop: %s", self.name, exc)
        return self.join(wait)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the body to end (up to `timeout` seconds); True when it has ended."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        if timeout is None:
            # In short waits: a signal the kernel hands to another thread only sets a flag, and the main
            # thread runs its handler (SIGTERM, Ctrl+C) when it next wakes; one long wait would sleep through it.
            while thread.is_alive():
                thread.join(_JOIN_STEP)
        elif timeout > 0:
            thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        try:
            self._body()
        except Exception as exc:  # the body's own retries gave up: said once, here
            self.error = exc
            log.warning("%s ended: %s: %s", self.name, type(exc).__name__, exc, exc_info=True)
            if self._on_error is not None:
                self._on_error(exc)


class Once(Generic[T]):
    """`fn` run once on a Loop of its own from now on; `result()` waits for it and returns its value or
    raises its error. For work begun early and needed later (a connect, a listing, Compose's config)."""

    def __init__(self, name: str, fn: Callable[[], T]) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._loop = Loop(name, lambda: self._run(fn)).start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # the caller of result() gets it
            self._error = exc

    def done(self) -> bool:
        return not self._loop.alive

    def result(self) -> T:
        self._loop.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when fn returned


class Reporter:
    """Says a recurring error once: the first of a run of equal errors is logged, the rest are not,
    until `recovered()` (or a different error) starts a new run."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self._last: str | None = None

    def failed(self, exc: BaseException) -> bool:
        """Log `exc` unless it repeats the last one; True when it was logged."""
        key = f"{type(exc).__name__}: {exc}"
        if key == self._last:
            return False
        self._last = key
        self.logger.info("%s: %s", self.what, key)
        return True

    def recovered(self) -> None:
        self._last = None
