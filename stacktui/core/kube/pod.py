"""What a Pod's members add to the Pod as a whole: volumes, the objects they need (claims, ConfigMaps),
host aliases, shared namespaces."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def only_set(**fields: Any) -> dict[str, Any]:
    """The fields that hold something, in the order given: Kubernetes objects leave the rest out."""
    return {k: v for k, v in fields.items() if v}


@dataclass
class PodParts:
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> Pod volume, first use first
    needs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, name) -> PVC or ConfigMap
    host_aliases: dict[str, list[str]] = field(default_factory=dict)  # ip -> hostnames
    share_process_namespace: bool = False
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    hostname: str | None = None
    grace_seconds: int | None = None

    def spec(self) -> dict[str, Any]:
        """The Pod spec fields these parts set, in a stable order."""
        out: dict[str, Any] = {}
        if self.hostname:
            out["hostname"] = self.hostname
        if self.host_network:
            out["hostNetwork"] = True
            out["dnsPolicy"] = "ClusterFirstWithHostNet"
        if self.host_pid:
            out["hostPID"] = True
        if self.host_ipc:
            out["hostIPC"] = True
        if self.share_process_namespace:
            out["shareProcessNamespace"] = True
        if self.host_aliases:
            out["hostAliases"] = [{"ip": ip, "hostnames": names} for ip, names in self.host_aliases.items()]
        if self.grace_seconds is not None:
            out["terminationGracePeriodSeconds"] = self.grace_seconds
        if self.volumes:
            out["volumes"] = list(self.volumes.values())
        return out
