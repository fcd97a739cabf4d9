"""`--heal-unhealthy`: which services stayed unhealthy for N checks in a row.

A check is one reading of the healer's live rows (Docker's healthcheck, from
the engine's events, and stacktui's probes of `x-stacktui.health`, stack-local
URLs only) every `interval` seconds. A service counts only while the same
container is unhealthy at every check; anything else (healthy, starting, down,
stale: the stranded-joiner heal's business) starts the count again. The engine
never restarts an unhealthy container (compose #4826), so this is opt-in: the
watcher reports every service that reaches N checks, and restarts it only when
asked to.

An unhealthy episode that begins within the backoff's `settle` seconds of the
service's last restart continues the streak (the restart did not help), with
the same doubling waits and the same cap on attempts as a crash-looping owner.
A service healthy for `settle` seconds in one go starts afresh.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from stacktui.core.health.status import HEALTHY, UNHEALTHY, ServiceStatus
from stacktui.core.heal.backoff import Backoff

DEFAULT_CHECKS = 3
DEFAULT_INTERVAL = 5.0


@dataclass
class _Count:
    container_id: str | None
    checks: int
    first_at: float  # when the first of these checks saw it unhealthy


@dataclass
class UnhealthyCount:
    needed: int = DEFAULT_CHECKS
    backoff: Backoff = field(default_factory=Backoff)
    _counts: dict[str, _Count] = field(default_factory=dict)
    _healthy_since: dict[str, float] = field(default_factory=dict)

    def see(self, rows: Iterable[ServiceStatus], now: float) -> tuple[list[ServiceStatus], list[ServiceStatus]]:
        """One check. Returns (the rows that reached `needed` checks now: report them; every row at or
        past `needed`: candidates for a restart, which the backoff gates)."""
        reached: list[ServiceStatus] = []
        over: list[ServiceStatus] = []
        for row in rows:
            name = row.service
            if row.health != UNHEALTHY:
                self._counts.pop(name, None)
                if row.health == HEALTHY:
                    since = self._healthy_since.setdefault(name, now)
                    if now - since >= self.backoff.settle:
                        self.backoff.forget(name)
                else:
                    self._healthy_since.pop(name, None)
                continue
            self._healthy_since.pop(name, None)
            count = self._counts.get(name)
            if count is None or count.container_id != row.container_id:
                count = self._counts[name] = _Count(row.container_id, 0, now)
            count.checks += 1
            if count.checks == self.needed:
                reached.append(row)
                self.backoff.owner_died(name, count.first_at)  # soon after its last restart: the streak goes on
            if count.checks >= self.needed:
                over.append(row)
        return reached, over

    def checks(self, service: str) -> int:
        count = self._counts.get(service)
        return count.checks if count else 0

    def restarted(self, service: str) -> None:
        """A restart ran: the next episode is counted from scratch."""
        self._counts.pop(service, None)
