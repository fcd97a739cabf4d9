"""A service's mounts: named volumes as PersistentVolumeClaims, binds as hostPath (only when allowed),
tmpfs as memory-backed emptyDir. Members of one Pod that mount the same source share one Pod volume."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from stacktui.core.compose.model import ServiceSpec
from stacktui.core.kube.names import dns_label
from stacktui.core.kube.notes import Notes
from stacktui.core.kube.pod import PodParts

CLAIM_SIZE = "1Gi"  # Compose gives no size; said once in the output


def mounts(spec: ServiceSpec, pod: PodParts, notes: Notes, *, allow_hostpath: bool,
           user: str | None, labels: dict[str, str], base: Path) -> list[dict[str, Any]]:
    """volumeMounts of the service's container; Pod volumes and claims are added to `pod`."""
    out: list[dict[str, Any]] = []
    entries = list(spec.raw.get("volumes") or [])
    entries += [{"type": "tmpfs", "target": t} for t in _tmpfs_list(spec.raw.get("tmpfs"))]
    for i, vol in enumerate(entries):
        target = str(vol.get("target") or "")
        if not target:
            continue
        kind = vol.get("type") or "volume"
        source = str(vol.get("source") or "")
        name = _pod_volume(kind, source, target, i, spec, pod, notes, allow_hostpath, user, labels, base)
        if name is None:
            continue
        mount: dict[str, Any] = {"name": name, "mountPath": target}
        if vol.get("read_only"):
            mount["readOnly"] = True
        sub = (vol.get("volume") or {}).get("subpath")
        if sub:
            mount["subPath"] = str(sub)
        out.append(mount)
    return out


def _tmpfs_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.split(":", 1)[0]]
    return [str(v).split(":", 1)[0] for v in value or []]


def _pod_volume(kind: str, source: str, target: str, index: int, spec: ServiceSpec, pod: PodParts, notes: Notes,
                allow_hostpath: bool, user: str | None, labels: dict[str, str], base: Path) -> str | None:
    where = ("volumes", index)
    if kind == "volume" and source:
        claim = dns_label(source if user is None else f"{source}-{user}")
        name = f"vol-{dns_label(source, 59)}"
        pod.volumes.setdefault(name, {"name": name, "persistentVolumeClaim": {"claimName": claim}})
        pod.claims.setdefault(claim, _claim(claim, labels))
        return name
    if kind == "volume":  # anonymous: lives as long as the container in Compose, as long as the Pod here
        name = f"anon-{dns_label(spec.name, 40)}-{index}"
        pod.volumes.setdefault(name, {"name": name, "emptyDir": {}})
        return name
    if kind == "tmpfs":
        name = f"tmpfs-{dns_label(spec.name, 40)}-{index}"
        pod.volumes.setdefault(name, {"name": name, "emptyDir": {"medium": "Memory"}})
        return name
    if kind == "bind":
        key = _source_key(source, base)
        if allow_hostpath:
            name = f"host-{key}"
            pod.volumes.setdefault(name, {"name": name, "hostPath": {"path": source}})
            return name
        name = f"bind-{key}"
        notes.add(spec.name, f"bind mount {source} -> {target} needs the host's files",
                  "an empty emptyDir is mounted there instead (--allow-hostpath mounts the host path; "
                  "a ConfigMap or the image carries files better)", *where)
        pod.volumes.setdefault(name, {"name": name, "emptyDir": {}})
        return name
    notes.add(spec.name, f"a {kind} mount at {target} has no Kubernetes form here", "left out", *where)
    return None


def _source_key(source: str, base: Path) -> str:
    """A stable volume name for a host path: its last part and a hash of the path as written relative to
    the project (`./scripts`), so the same export from another checkout names it the same."""
    import os
    import zlib

    rel = os.path.relpath(source, base) if os.path.isabs(source) else source
    if rel.startswith(".."):
        rel = source
    return dns_label(f"{source.rstrip('/').rsplit('/', 1)[-1]}-{zlib.crc32(rel.encode()):08x}", 50)


def _claim(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": CLAIM_SIZE}}}}
