"""Crash loops: how soon the healer may repair an owner's joiners again.

The first heal after a quiet spell is immediate. A heal that failed, or one
needed again less than `settle` seconds after the last one ended (the owner
keeps dying), extends a streak: the next heal waits `first * 2**(streak-1)`
seconds, capped at `cap`; after `max_attempts` heals in a streak the healer
gives up until the owner has run for `settle` seconds. So a looping owner
costs a bounded number of joiner restarts, never a storm.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FIRST, CAP, SETTLE, MAX_ATTEMPTS = 1.0, 300.0, 10.0, 5


@dataclass
class _Streak:
    attempts: int = 0
    last_end: float | None = None
    last_ok: bool = True


@dataclass
class Backoff:
    first: float = FIRST
    cap: float = CAP
    settle: float = SETTLE
    max_attempts: int = MAX_ATTEMPTS
    _streaks: dict[str, _Streak] = field(default_factory=dict)

    def attempts(self, owner: str) -> int:
        return self._streaks.get(owner, _Streak()).attempts

    def delay(self, attempts: int) -> float:
        return 0.0 if attempts <= 0 else min(self.first * 2 ** (attempts - 1), self.cap)

    def due(self, owner: str, now: float, owner_up_since: float | None) -> float | None:
        """When a heal of `owner`'s joiners may start (<= now: at once); None: given up for now.

        `owner_up_since` is the owner's current start: once it has run `settle`
        seconds, the streak is over (the owner stopped looping) and so is a give-up.
        """
        s = self._streaks.get(owner)
        if s is None or s.last_end is None:
            return now
        settled = owner_up_since is not None and now - owner_up_since >= self.settle
        quiet = s.last_ok and now - s.last_end >= self.settle
        if settled or quiet:
            s.attempts = 0
            return now
        if s.attempts >= self.max_attempts:
            return None
        return s.last_end + self.delay(s.attempts)

    def record(self, owner: str, now: float, ok: bool) -> None:
        s = self._streaks.setdefault(owner, _Streak())
        s.attempts += 1
        s.last_end = now
        s.last_ok = ok

    def settled_at(self, owner_up_since: float | None, now: float) -> float:
        """When a given-up owner would count as settled, if it keeps running from now on."""
        return (owner_up_since if owner_up_since is not None else now) + self.settle
