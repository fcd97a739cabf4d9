"""What `stacktui check` reports: one Finding per problem, with file and line when a file says it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from stacktui.core.errors import SourceRef

ERROR, WARNING = "error", "warning"

# Static, from the compose files
DUPLICATE_PUBLISH = "duplicate-publish"  # one host address:port:protocol published twice
PORTS_ON_SHARED_NETWORK = "ports-on-shared-network"  # ports/expose with network_mode service:X
DUPLICATE_LISTEN = "duplicate-listen"  # two members of one network namespace declare one port
# On the host, before up or a restart
PORT_IN_USE = "port-in-use"  # a process outside the stack holds a published host port
PORT_TAKEN_BY_CONTAINER = "port-taken-by-container"  # a container of another project holds it
# Live, inside a running shared namespace
NAMESPACE_PORT_CONFLICT = "namespace-port-conflict"
STALE_NAMESPACE = "stale-namespace"


@dataclass(frozen=True)
class Finding:
    severity: str  # error, warning
    kind: str
    service: str | None
    port: int | str | None  # a host or container port; "8000-8010" for a published range
    message: str
    hint: str | None = None
    file: Path | None = None
    line: int | None = None
    fix: str | None = None  # an action id the TUI can offer, e.g. "restart:mcp-server"

    @classmethod
    def at(cls, where: SourceRef | None, **fields: Any) -> "Finding":
        return cls(file=where.file if where else None, line=where.line if where else None, **fields)

    def to_json(self, show_path: Callable[[Path], str] = str) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "service": self.service,
            "port": self.port,
            "message": self.message,
            "hint": self.hint,
            "file": show_path(self.file) if self.file else None,
            "line": self.line,
            "fix": self.fix,
        }

    def text(self, show_path: Callable[[Path], str] = str) -> str:
        """`file:line: severity kind service port: message (hint)`, the way compilers print."""
        where = f"{show_path(self.file)}:{self.line or 1}: " if self.file else ""
        head = " ".join(str(x) for x in (self.severity, self.kind, self.service, self.port) if x not in (None, ""))
        tail = f" ({self.hint})" if self.hint else ""
        return f"{where}{head}: {self.message}{tail}"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings from files first, in file and line order; then the rest as found. Exact repeats dropped."""
    unique = list(dict.fromkeys(findings))
    with_file = sorted((f for f in unique if f.file), key=lambda f: (str(f.file), f.line or 0))
    return with_file + [f for f in unique if not f.file]
