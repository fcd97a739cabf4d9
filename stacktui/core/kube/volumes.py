"""A service's mounts: named volumes as PersistentVolumeClaims; a read-only bind of a small folder or file
as a ConfigMap of its files; other binds as hostPath (only when allowed); tmpfs as memory-backed emptyDir.
Members of one Pod that mount the same source share one Pod volume."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stacktui.core.compose.model import ServiceSpec
from stacktui.core.kube.names import MANAGED_LABEL, PART_OF_LABEL, PROJECT_LABEL, USER_LABEL, dns_label
from stacktui.core.kube.notes import Notes
from stacktui.core.kube.pod import PodParts, only_set

CLAIM_SIZE = "1Gi"  # Compose gives no size; said once in the output
FILES_LIMIT = 900 * 1024  # a ConfigMap holds at most 1 MiB, its names and metadata included
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def mounts(spec: ServiceSpec, pod: PodParts, notes: Notes, *, allow_hostpath: bool,
           user: str | None, labels: dict[str, str], base: Path) -> list[dict[str, Any]]:
    """volumeMounts of the service's container; Pod volumes and what they need are added to `pod`."""
    out: list[dict[str, Any]] = []
    entries = list(spec.raw.get("volumes") or [])
    entries += [{"type": "tmpfs", "target": t} for t in _tmpfs_list(spec.raw.get("tmpfs"))]
    for i, vol in enumerate(entries):
        target = str(vol.get("target") or "")
        if not target:
            continue
        kind = vol.get("type") or "volume"
        source = str(vol.get("source") or "")
        name = _pod_volume(kind, source, target, i, spec, pod, notes, allow_hostpath, user, labels, base,
                           bool(vol.get("read_only")))
        if name is None:
            continue
        mount: dict[str, Any] = {"name": name, "mountPath": target}
        if name.startswith("files-") and not Path(source).is_dir():
            mount["subPath"] = Path(source).name
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
                allow_hostpath: bool, user: str | None, labels: dict[str, str], base: Path,
                read_only: bool) -> str | None:
    where = ("volumes", index)
    if kind == "volume" and source:
        project = labels.get(PART_OF_LABEL, "")
        claim = dns_label(f"{project}-{source}" if user is None else f"{project}-{source}-{user}")
        name = f"vol-{dns_label(source, 59)}"
        pod.volumes.setdefault(name, {"name": name, "persistentVolumeClaim": {"claimName": claim}})
        pod.needs.setdefault(("PersistentVolumeClaim", claim), _claim(claim, _shared(labels, user)))
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
        files = _files(source) if read_only else None
        if files is not None:
            name = f"files-{key}"
            config: dict[str, Any] = {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": dns_label(f"{labels.get(PART_OF_LABEL, '')}-{name}"),
                             "labels": _shared(labels, None)}}
            config.update(files)
            pod.needs.setdefault(("ConfigMap", name), config)
            volume: dict[str, Any] = {"name": name, "configMap": {"name": config["metadata"]["name"]}}
            if not Path(source).is_dir():  # one file: mounted as that file, not as a folder
                key_name = Path(source).name
                volume["configMap"]["items"] = [{"key": key_name, "path": key_name}]
            pod.volumes.setdefault(name, volume)
            return name
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


def _shared(labels: dict[str, str], user: str | None) -> dict[str, str]:
    """The labels of an object several workloads may mount: the project's, and the user's when per user."""
    keep = {PROJECT_LABEL, PART_OF_LABEL, MANAGED_LABEL} | ({USER_LABEL} if user is not None else set())
    return {k: v for k, v in labels.items() if k in keep}


def _claim(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": CLAIM_SIZE}}}}


def _files(source: str) -> dict[str, Any] | None:
    """`data`/`binaryData` of a ConfigMap holding a file, or a folder's files (no subfolders), when small
    enough and named as ConfigMap keys must be; None otherwise."""
    import base64

    path = Path(source)
    try:
        entries = sorted(path.iterdir()) if path.is_dir() else [path] if path.is_file() else []
        if not entries or any(not e.is_file() or not _KEY.match(e.name) for e in entries):
            return None
        if sum(e.stat().st_size for e in entries) > FILES_LIMIT:
            return None
        data: dict[str, str] = {}
        binary: dict[str, str] = {}
        for entry in entries:
            raw = entry.read_bytes()
            try:
                data[entry.name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                binary[entry.name] = base64.b64encode(raw).decode("ascii")
    except OSError:
        return None
    return only_set(data=data, binaryData=binary)
