"""The model of a measurement: figures (p50, p95, p99, max, failures) per path and per kind of ask."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NAMESPACE, BRIDGE, HOST = "namespace", "bridge", "host"
KIND_WORDS = {NAMESPACE: "localhost", BRIDGE: "bridge", HOST: "host port"}


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least q of the samples at or below it."""
    return sorted_ms[max(math.ceil(q * len(sorted_ms)) - 1, 0)]


@dataclass(frozen=True)
class Figure:
    """One kind of ask (connect, http, lookup) along one path: `asked` = ok + failed + not_run."""

    what: str
    asked: int
    ok: int
    failed: int
    not_run: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    errors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, what: str, asked: int, ms: list[float], failed: int, errors: dict[str, int],
                     not_run: int) -> "Figure":
        if not ms:
            return cls(what, asked, 0, failed, not_run, errors=dict(errors))
        s = sorted(ms)
        return cls(what, asked, len(s), failed, not_run, percentile(s, 0.5), percentile(s, 0.95),
                   percentile(s, 0.99), s[-1], dict(errors))

    def words(self) -> str:
        """`p50 0.081 ms, p95 0.12, p99 0.2, max 0.31 (200 ok)`, with the failures and their reasons."""
        parts: list[str] = []
        if self.p50 is not None:
            parts.append(f"p50 {ms(self.p50)} ms, p95 {ms(self.p95)}, p99 {ms(self.p99)}, max {ms(self.max)}")
        tail = f"{self.ok} ok"
        if self.failed:
            why = "; ".join(f"{reason} x{n}" for reason, n in sorted(self.errors.items(), key=lambda kv: -kv[1]))
            tail += f", {self.failed} FAILED ({why})"
        if self.not_run:
            tail += f", {self.not_run} not run (time limit)"
        return (", ".join(parts) + f" ({tail})") if parts else tail

    def to_json(self) -> dict[str, Any]:
        return {"asked": self.asked, "ok": self.ok, "failed": self.failed, "not_run": self.not_run,
                "p50_ms": self.p50, "p95_ms": self.p95, "p99_ms": self.p99, "max_ms": self.max,
                "errors": self.errors}


def ms(value: float | None) -> str:
    """A time in ms with three significant digits at most: 0.0412, 0.412, 4.12, 41.2, 412."""
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


@dataclass
class PathResult:
    """One path to one listening port, and what was measured along it (or why nothing was)."""

    service: str  # the service whose port it is
    port: int
    kind: str  # NAMESPACE, BRIDGE, HOST
    source: str  # in words: "vscode's namespace", "backend", "the host"
    destination: str  # as the caller writes it: "localhost:9001", "vscode:9001", "127.0.0.1:19001"
    callers: tuple[str, ...] = ()  # the services that use this path
    http_path: str | None = None  # the health URL's path, when it is on this port
    connect: Figure | None = None
    http: Figure | None = None
    lookup: Figure | None = None  # the engine's DNS, on a bridge path
    address: str | None = None  # where the name led, on a bridge path
    not_measured: str | None = None

    @property
    def failed(self) -> int:
        return sum(f.failed for f in (self.connect, self.http, self.lookup) if f is not None)

    @property
    def headline(self) -> Figure | None:
        """The figure a comparison uses: the full request when there is one, else the connect."""
        return self.http if self.http is not None and self.http.ok else self.connect

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "port": self.port, "kind": self.kind, "from": self.source,
                "to": self.destination, "callers": list(self.callers), "http_path": self.http_path,
                "address": self.address, "not_measured": self.not_measured,
                **{name: f.to_json() for name, f in (("connect", self.connect), ("http", self.http),
                                                      ("lookup", self.lookup)) if f is not None}}


@dataclass
class Skipped:
    """An address a compose file names that is not the stack's own: never measured."""

    service: str
    value: str  # where it was found: "environment MCP_URL" or "x-stacktui.health"
    host: str

    def words(self) -> str:
        return f"{self.service}'s {self.value} names {self.host}, not a service of the stack: not measured"


@dataclass
class LatencyReport:
    project: str
    count: int
    paths: list[PathResult] = field(default_factory=list)
    not_running: dict[str, str] = field(default_factory=dict)  # service -> why nothing was measured
    quiet: list[str] = field(default_factory=list)  # asked-for services with no port known to listen
    skipped: list[Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.not_running and not any(p.failed for p in self.paths)

    def lines(self) -> list[str]:
        """The report in words, path after path, grouped by service and port. Not sanitized: the faces do."""
        out: list[str] = []
        current: tuple[str, int] | None = None
        for p in self.paths:
            if (p.service, p.port) != current:
                current = (p.service, p.port)
                out.append(f"{p.service}:{p.port}" + (f" (health {p.http_path})" if p.http_path else ""))
            callers = f"  (used by {', '.join(p.callers)})" if p.callers and p.kind != HOST else ""
            resolved = f" = {p.address}" if p.kind == BRIDGE and p.address else ""
            out.append(f"  {KIND_WORDS[p.kind]:<10} from {p.source} -> {p.destination}{resolved}{callers}")
            if p.not_measured:
                out.append(f"    {p.not_measured}")
            for f in (p.connect, p.http, p.lookup):
                if f is not None and (f.asked or f.failed):
                    out.append(f"    {'dns' if f.what == 'lookup' else f.what:<8} {f.words()}")
        out += list(self.not_running.values())  # each names its service
        out += [f"{service}: no port known to listen (x-stacktui.listens, a health URL or a published port)"
                for service in self.quiet]
        out += [s.words() for s in self.skipped]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "count": self.count, "elapsed_s": round(self.elapsed_s, 3),
                "paths": [p.to_json() for p in self.paths], "not_running": self.not_running,
                "no_ports": self.quiet, "not_the_stacks": [s.__dict__ for s in self.skipped]}
