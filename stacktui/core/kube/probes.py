"""A compose healthcheck as startup, readiness and liveness probes; an `x-stacktui.health` URL as httpGet.

Docker's defaults apply where the file says nothing (interval 30 s, timeout 30 s, retries 3,
start period 0). Kubernetes counts whole seconds, at least one: shorter durations round up.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stacktui.core.compose.model import ServiceSpec

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(value: Any, default: float) -> float:
    """A Go duration as Compose prints it (`1m30s`, `500ms`), or a number of seconds."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return default
    return sum(float(n) * _UNIT[u] for n, u in parts)


def whole(value: float) -> int:
    return max(1, math.ceil(value - 1e-9))


@dataclass(frozen=True)
class Check:
    """A healthcheck's timing and its handler (exec or httpGet), before it is cut into probes."""

    handler: dict[str, Any]
    interval: int
    timeout: int
    retries: int
    start_period: float
    start_interval: int

    def probe(self, period: int, failures: int) -> dict[str, Any]:
        return {**self.handler, "periodSeconds": period, "timeoutSeconds": self.timeout,
                "failureThreshold": max(1, failures)}

    def startup(self) -> dict[str, Any]:
        """Failing for as long as Docker would call it `starting`, then its retries."""
        return self.probe(self.start_interval, math.ceil(self.start_period / self.start_interval) + self.retries)

    def steady(self) -> dict[str, Any]:
        return self.probe(self.interval, self.retries)


def healthcheck(spec: ServiceSpec) -> Check | None:
    """The service's healthcheck as an exec Check, or None when it has none (or it is disabled)."""
    if not spec.has_healthcheck:
        return None
    hc = spec.healthcheck or {}
    test = hc.get("test")
    if isinstance(test, str):
        command = ["/bin/sh", "-c", test]
    elif isinstance(test, list) and test[:1] == ["CMD-SHELL"] and len(test) > 1:
        command = ["/bin/sh", "-c", str(test[1])]
    elif isinstance(test, list) and test[:1] == ["CMD"] and len(test) > 1:
        command = [str(t) for t in test[1:]]
    else:
        return None  # a bare image default: nothing to run here
    interval = whole(seconds(hc.get("interval"), 30))
    return Check(handler={"exec": {"command": [unescape(c) for c in command]}}, interval=interval,
                 timeout=whole(seconds(hc.get("timeout"), 30)), retries=int(hc.get("retries") or 3),
                 start_period=seconds(hc.get("start_period"), 0),
                 start_interval=whole(seconds(hc.get("start_interval"), interval)))


def http_check(url: str, interval: int = 5) -> dict[str, Any]:
    """An httpGet handler for an `x-stacktui.health` URL (any host of the Pod: the probe goes to its IP)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    handler: dict[str, Any] = {"httpGet": {"path": path, "port": port}}
    if parts.scheme == "https":
        handler["httpGet"]["scheme"] = "HTTPS"
    return handler


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def unescape(value: str) -> str:
    """Compose prints a literal `$` as `$$`; the container must get one."""
    return value.replace("$$", "$")


def kubelet_safe(value: str) -> str:
    """The kubelet expands `$(NAME)` in command, args and env values; `$$(` keeps it literal."""
    return value.replace("$(", "$$(")
