"""Hooks: the user's host commands run on the watcher's events (`[[hooks]]` in config.toml, `watch --hook`).

A hook gets the event's JSON on stdin, the very object `watch --json` prints for it
(HealEvent.to_json), and STACKTUI_EVENT, STACKTUI_SERVICE, STACKTUI_PROJECT and STACKTUI_MISSED
in its environment. It runs through core.proc, like every process stacktui starts: its own
process group, killed as a group and reaped at its time limit.

Calling the runner never waits: the healer's threads and the TUI's event loop hand it an event
and go on. Each hook runs at most once at a time, on a loop of its own (core.loop); events for it that
arrive while it runs are counted, and when it ends it runs once more with the newest of them,
STACKTUI_MISSED saying how many others it did not get on their own. A failing hook (an exit
code other than 0, its time limit, a command that cannot start) is said once, then not again
until it has succeeded once.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Callable, Mapping, Sequence

from stacktui.core import proc
from stacktui.core.heal.events import HealEvent
from stacktui.core.loop import Loop
from stacktui.core.sanitize import printable
from stacktui.core.userconf import HOOK_EVENTS, HOOK_TIMEOUT, Hook
from stacktui.core.durations import seconds

STDERR_SHOWN = 200  # characters of a failing hook's last stderr line in the message


def command_line_hook(command: str) -> Hook:
    """`watch --hook CMD`: on every event a hook may take."""
    return Hook(run=command, on=HOOK_EVENTS, timeout=HOOK_TIMEOUT)


class _HookState:
    """One hook: its loop, the newest event waiting for it, how many it missed, its failure streak."""

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self.lock = threading.Lock()
        self.loop: Loop | None = None  # made on the hook's first event
        self.busy = False  # a run is under way or handed over
        self.current: tuple[HealEvent, int] | None = None  # the event handed over, with how many it missed
        self.pending: HealEvent | None = None  # the newest event that came during a run
        self.missed = 0
        self.failing = False
        self.runs = 0  # finished runs (tests and diagnostics read it)


class HookRunner:
    """Hands each event to the hooks that name it; `say` gets one line per failure streak."""

    def __init__(self, hooks: Sequence[Hook], say: Callable[[str], None], *,
                 env: Mapping[str, str] | None = None) -> None:
        self.states = [_HookState(h) for h in hooks]
        self.say = say
        self.env = dict(os.environ if env is None else env)
        self.closed = False

    def __bool__(self) -> bool:
        return bool(self.states)

    def __call__(self, event: HealEvent) -> None:
        if self.closed:
            return
        for state in self.states:
            if event.event in state.hook.on:
                self._offer(state, event)

    def _offer(self, state: _HookState, event: HealEvent) -> None:
        with state.lock:
            if state.busy:  # running: this one waits as the newest, an older one waiting is missed
                if state.pending is not None:
                    state.missed += 1
                state.pending = event
                return
            state.busy = True
            state.current = (event, state.missed)
            state.missed = 0
            if state.loop is None:
                loop = Loop(f"hook-{state.hook.label[:20]}", lambda: self._runs(state, loop))
                state.loop = loop
            loop = state.loop
        loop.start()
        loop.wake()

    def _runs(self, state: _HookState, loop: Loop) -> None:
        while not loop.stopping:
            with state.lock:
                job, state.current = state.current, None
                if job is None and state.pending is not None:
                    job = (state.pending, state.missed)
                    state.pending, state.missed = None, 0
                state.busy = job is not None
            if job is None:
                loop.sleep(None)
                continue
            try:
                self._run_once(state, *job)
            finally:
                with state.lock:
                    state.runs += 1

    def _run_once(self, state: _HookState, event: HealEvent, missed: int) -> None:
        hook = state.hook
        env = {**self.env, "STACKTUI_EVENT": event.event, "STACKTUI_SERVICE": event.service or "",
               "STACKTUI_PROJECT": event.project, "STACKTUI_MISSED": str(missed)}
        problem = None
        try:
            done = proc.run(["sh", "-c", hook.run], proc.Limits(hook.timeout),
                            input=json.dumps(event.to_json()) + "\n", env=env)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines()
                last = f": {printable(lines[-1], limit=STDERR_SHOWN)}" if lines else ""
                problem = f"ended with exit code {done.returncode} on {event.event}{last}"
        except proc.TimedOut:
            problem = (f"did not finish within {seconds(hook.timeout)} on {event.event} and was stopped, "
                       "with what it started")
        except OSError as exc:
            problem = f"could not start: {exc}"
        if problem is None:
            state.failing = False
            return
        if not state.failing:
            state.failing = True
            where = f" (config.toml:{hook.line})" if hook.line else ""
            self.say(f"hook {printable(hook.label, limit=60)!r}{where} {problem}; "
                     "said once until it succeeds again")

    def running(self) -> int:
        return sum(1 for s in self.states if s.busy)

    def close(self, wait: float = 0.0) -> None:
        """Take no more events; wait up to `wait` seconds for the runs under way (their time limits still hold)."""
        self.closed = True
        deadline = time.monotonic() + wait
        for state in self.states:
            if state.loop is not None:
                state.loop.stop(max(0.0, deadline - time.monotonic()))
