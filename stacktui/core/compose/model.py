"""The compose model: what Compose's effective config says, plus where it was written."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacktui.core.errors import SourceRef

NAMESPACE_KINDS = ("network_mode", "ipc", "pid")


@dataclass(frozen=True)
class PortSpec:
    """One `ports:` entry of the effective config."""

    target: int
    published: str | None  # host port or range as Compose prints it; None when left to the engine
    host_ip: str = ""
    protocol: str = "tcp"
    where: SourceRef | None = None

    @property
    def host_port(self) -> int | None:
        if self.published and self.published.isdigit():
            return int(self.published)
        return None

    def label(self) -> str:
        host = f"{self.host_ip}:" if self.host_ip else ""
        pub = f"{host}{self.published}->" if self.published else ""
        return f"{pub}{self.target}/{self.protocol}"


@dataclass(frozen=True)
class DependsOn:
    service: str
    condition: str = "service_started"
    restart: bool = False
    required: bool = True


@dataclass
class Extension:
    """`x-stacktui:` on a service."""

    health: str | None = None  # an HTTP probe URL naming services as containers do
    listens: tuple[int, ...] = ()  # ports the service's processes listen on
    listens_said: bool = False  # `listens` is written, so () means "listens on nothing", not "not said"


@dataclass
class ServiceSpec:
    name: str
    image: str | None = None
    network_mode: str | None = None
    ipc: str | None = None
    pid: str | None = None
    ports: list[PortSpec] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    depends_on: dict[str, DependsOn] = field(default_factory=dict)
    volumes_from: list[str] = field(default_factory=list)
    healthcheck: dict[str, Any] | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    x: Extension = field(default_factory=Extension)
    where: SourceRef | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def namespace_target(self, kind: str) -> str | None:
        """The service whose namespace of this kind we join (`service:X`), if any."""
        value = getattr(self, kind)
        if isinstance(value, str) and value.startswith("service:"):
            return value.split(":", 1)[1]
        return None

    def namespace_targets(self) -> dict[str, str]:
        return {k: t for k in NAMESPACE_KINDS if (t := self.namespace_target(k))}

    @property
    def has_healthcheck(self) -> bool:
        hc = self.healthcheck
        if not hc or hc.get("disable"):
            return False
        test = hc.get("test")
        return not (isinstance(test, list) and test[:1] == ["NONE"])


@dataclass
class Project:
    name: str
    working_dir: Path
    files: list[Path]
    services: dict[str, ServiceSpec]
    read_only: bool = False  # attached from container labels: nothing to edit
    read_only_reason: str | None = None  # why the files could not be used, when attached read-only
    source: Any = field(default=None, repr=False)  # SourceIndex when files are known

    def service(self, name: str) -> ServiceSpec:
        from stacktui.core.errors import ConfigError

        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise ConfigError(f"unknown service {name!r} in project {self.name}",
                              hint=f"services: {known}") from None
