"""One compose service as one container of a Pod, and what it adds to the Pod as a whole."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stacktui.core.compose.model import ServiceSpec
from stacktui.core.kube.names import dns_label
from stacktui.core.kube.notes import Notes
from stacktui.core.kube.options import ExportOptions
from stacktui.core.kube.pod import PodParts, only_set
from stacktui.core.kube.probes import kubelet_safe, seconds, unescape, whole
from stacktui.core.kube.volumes import mounts

# Keys the export carries over (here, in probes, ports or the group), or that mean nothing on a cluster.
HANDLED = frozenset({
    "image", "build", "command", "entrypoint", "environment", "env_file", "working_dir", "user", "tty", "stdin_open",
    "init", "restart", "pid", "network_mode", "ipc", "extra_hosts", "cap_add", "cap_drop", "privileged", "volumes",
    "tmpfs", "healthcheck", "ports", "expose", "depends_on", "networks", "hostname", "stop_grace_period", "read_only",
    "mem_limit", "mem_reservation", "cpus", "pull_policy", "container_name", "profiles", "labels", "x-stacktui",
})
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent",
         "build": "IfNotPresent"}


def container(spec: ServiceSpec, image: str, pod: PodParts, notes: Notes, options: ExportOptions,
              user: str | None, labels: dict[str, str], env_rewrites: dict[str, str], base: Path) -> dict[str, Any]:
    raw = spec.raw
    c: dict[str, Any] = {"name": dns_label(spec.name), "image": image}
    policy = _PULL.get(str(raw.get("pull_policy") or ""))  # else the cluster's default for the tag
    if policy:
        c["imagePullPolicy"] = policy
    if raw.get("entrypoint"):
        c["command"] = [kubelet_safe(unescape(str(a))) for a in _words(raw["entrypoint"])]
    if raw.get("command"):
        c["args"] = [kubelet_safe(unescape(str(a))) for a in _words(raw["command"])]
    if raw.get("working_dir"):
        c["workingDir"] = str(raw["working_dir"])
    env = _environment(spec, notes, env_rewrites)
    if env:
        c["env"] = env
    security = _security(spec, pod, notes, options)
    if security:
        c["securityContext"] = security
    resources = _resources(raw)
    if resources:
        c["resources"] = resources
    volume_mounts = mounts(spec, pod, notes, allow_hostpath=options.allow_hostpath, user=user, labels=labels,
                           base=base)
    if volume_mounts:
        c["volumeMounts"] = volume_mounts
    if raw.get("tty"):
        c["tty"] = True
    if raw.get("stdin_open"):
        c["stdin"] = True
    _pod_level(spec, pod, notes, options)
    _unhandled(spec, notes)
    return c


def _words(value: Any) -> list[Any]:
    if isinstance(value, str):
        import shlex

        return shlex.split(value)
    return list(value)


def _environment(spec: ServiceSpec, notes: Notes, rewrites: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for name, value in sorted(spec.environment.items()):
        if value is None:
            notes.add(spec.name, f"environment {name} has no value here (Compose passes it from the shell "
                      "that runs it)", "left out", "environment", name)
            continue
        text = unescape(str(value))
        for old, new in rewrites.items():
            text = re.sub(rf"(?<![\w.-]){re.escape(old)}(?=[:/]|$)", new, text)
        if SECRET_NAME.search(name) and text:
            notes.add(spec.name, f"environment {name} looks like a secret", "kept in plain env: move it to a "
                      "Secret (valueFrom.secretKeyRef)", "environment", name)
        out.append({"name": name, "value": kubelet_safe(text)})
    return out


def _security(spec: ServiceSpec, pod: PodParts, notes: Notes, options: ExportOptions) -> dict[str, Any]:
    raw = spec.raw
    out: dict[str, Any] = {}
    user = str(raw.get("user") or "")
    if user:
        uid, _, gid = user.partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            out["runAsUser"] = int(uid)
            if gid:
                out["runAsGroup"] = int(gid)
        else:
            notes.add(spec.name, f"user {user!r} is a name; Kubernetes takes numeric ids",
                      "left to the image's user (write user: UID[:GID])", "user")
    if raw.get("read_only"):
        out["readOnlyRootFilesystem"] = True
    wanted = {"cap_add": raw.get("cap_add"), "cap_drop": raw.get("cap_drop"), "privileged": raw.get("privileged")}
    if not any(wanted.values()):
        return out
    if not options.allow_privileged:
        for key, value in wanted.items():
            if value:
                notes.add(spec.name, f"{key}: {value if not isinstance(value, bool) else 'true'}",
                          "not carried over (--allow-privileged carries it into securityContext)", key)
        return out
    caps: dict[str, list[str]] = {}
    for key, field in (("cap_add", "add"), ("cap_drop", "drop")):
        if raw.get(key):
            caps[field] = [str(c).upper().removeprefix("CAP_") for c in raw[key]]
    if caps:
        out["capabilities"] = caps
    if raw.get("privileged"):
        out["privileged"] = True
    return out


def _resources(raw: dict[str, Any]) -> dict[str, Any]:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if raw.get("mem_limit"):
        limits["memory"] = str(raw["mem_limit"])
    if raw.get("mem_reservation"):
        requests["memory"] = str(raw["mem_reservation"])
    if raw.get("cpus"):
        limits["cpu"] = f"{int(float(raw['cpus']) * 1000)}m"
    return only_set(limits=limits, requests=requests)


def _pod_level(spec: ServiceSpec, pod: PodParts, notes: Notes, options: ExportOptions) -> None:
    raw = spec.raw
    if raw.get("init"):
        pod.share_process_namespace = True  # the Pod's pause process is PID 1 and reaps, as docker-init does
    if str(raw.get("pid") or "").startswith(("service:", "container:")):
        pod.share_process_namespace = True
    for key, attr, field in (("pid", "host_pid", "hostPID"), ("ipc", "host_ipc", "hostIPC")):
        if raw.get(key) != "host":
            continue
        if options.allow_privileged:
            setattr(pod, attr, True)
        else:
            notes.add(spec.name, f"{key}: host", f"not carried over (--allow-privileged sets {field})", key)
    mode = str(raw.get("network_mode") or "")
    if mode == "host":
        pod.host_network = True
    elif mode == "none":
        notes.add(spec.name, "network_mode: none", "a Pod always has a network: it keeps the Pod's own",
                  "network_mode")
    for entry in raw.get("extra_hosts") or []:
        host, sep, ip = str(entry).partition("=")
        if not sep:
            host, _, ip = str(entry).partition(":")
        names = pod.host_aliases.setdefault(ip.strip("[]"), [])
        if host not in names:
            names.append(host)
    if raw.get("hostname") and pod.hostname is None:
        pod.hostname = dns_label(str(raw["hostname"]))
    if raw.get("stop_grace_period"):
        grace = whole(seconds(raw["stop_grace_period"], 10))
        pod.grace_seconds = max(pod.grace_seconds or 0, grace)


def _unhandled(spec: ServiceSpec, notes: Notes) -> None:
    for key in spec.raw:
        if key in HANDLED or key.startswith("x-"):
            continue
        notes.add(spec.name, f"{key} has no counterpart in a Pod spec", "left out", key)
    networks = spec.raw.get("networks") or {}
    if set(networks) - {"default"}:
        notes.add(spec.name, f"networks {', '.join(sorted(set(networks) - {'default'}))}",
                  "one flat cluster network instead (a NetworkPolicy can narrow it)", "networks")
    if spec.raw.get("labels"):
        notes.add(spec.name, "labels are container labels", "not carried over", "labels")
    if spec.raw.get("container_name"):
        notes.add(spec.name, f"container_name {spec.raw['container_name']}",
                  f"the container is named {dns_label(spec.name)} in its Pod", "container_name")
