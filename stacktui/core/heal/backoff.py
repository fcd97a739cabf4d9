"""Crash loops: how soon the healer may repair an owner's joiners again.

The first heal is immediate. When the heal failed, or the owner died again
less than `settle` seconds after its joiners were healed, the owner "keeps
dying": the streak goes on, and the next heal waits `first * 2**(attempts-1)`
seconds after the last one ended (capped at `cap`). After `max_attempts`
heals in a streak the healer gives up until the owner has run `settle`
seconds in one go. An owner that outlives `settle` after a heal ends the
streak. So a looping owner costs a bounded number of joiner restarts, never a storm.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FIRST, CAP, SETTLE, MAX_ATTEMPTS = 1.0, 300.0, 10.0, 5


@dataclass
class _Streak:
    attempts: int = 0
    last_end: float | None = None
    last_ok: bool = True
    died_soon: bool = False  # the owner died within `settle` of the last heal's end


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

    def looping(self, owner: str, now: float, owner_up_since: float | None) -> bool:
        """Whether the owner keeps dying (the streak goes on); ends the streak when it does not."""
        s = self._streaks.get(owner)
        if s is None or s.last_end is None or s.attempts == 0:
            return False
        settled = owner_up_since is not None and now - owner_up_since >= self.settle
        if settled or (s.last_ok and not s.died_soon):
            s.attempts, s.died_soon = 0, False
            return False
        return True

    def due(self, owner: str, now: float, owner_up_since: float | None) -> float | None:
        """When a heal of `owner`'s joiners may start (<= now: at once); None: given up for now."""
        if not self.looping(owner, now, owner_up_since):
            return now
        s = self._streaks[owner]
        if s.attempts >= self.max_attempts:
            return None
        assert s.last_end is not None
        return s.last_end + self.delay(s.attempts)

    def owner_died(self, owner: str, at: float) -> None:
        s = self._streaks.get(owner)
        if s is not None and s.last_end is not None and at - s.last_end < self.settle:
            s.died_soon = True

    def record(self, owner: str, now: float, ok: bool) -> None:
        s = self._streaks.setdefault(owner, _Streak())
        s.attempts += 1
        s.last_end = now
        s.last_ok = ok
        s.died_soon = False

    def forget(self, owner: str) -> None:
        """It has been well for `settle` seconds: its next trouble starts a new streak."""
        self._streaks.pop(owner, None)

    def settled_at(self, owner_up_since: float | None, now: float) -> float:
        """When a given-up owner would count as settled, if it keeps running from now on."""
        return (owner_up_since if owner_up_since is not None else now) + self.settle
