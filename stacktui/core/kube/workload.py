"""One namespace group (an owner and every service that joins it) as one Deployment and one Service.

The Pod's containers share its network and IPC namespaces, held by the Pod's sandbox, which
outlives any one container: what `network_mode: service:X` builds by hand, without the
stranding when X restarts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stacktui.core.compose.model import PortSpec, Project, ServiceSpec
from stacktui.core.kube import names as n
from stacktui.core.kube.container import container
from stacktui.core.kube.notes import Notes
from stacktui.core.kube.options import ExportOptions
from stacktui.core.kube.pod import PodParts
from stacktui.core.kube.probes import healthcheck, http_check, url_host
from stacktui.core.namespaces.groups import chain, exposed_targets

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class Group:
    owner: str
    members: list[str]  # owner first, then each joiner after the service it joins
    user: str | None = None

    @property
    def name(self) -> str:
        return n.workload_name(self.owner, self.user)


@dataclass
class Workload:
    deployment: dict[str, Any]
    service: dict[str, Any] | None
    needs: list[dict[str, Any]] = field(default_factory=list)  # claims and ConfigMaps its Pod mounts
    published: list[int] = field(default_factory=list)  # container ports Compose publishes on the host
    liveness: bool = False


def selector(project: Project, group: Group) -> dict[str, str]:
    return {n.PROJECT_LABEL: n.dns_label(project.name), n.WORKLOAD_LABEL: group.name}


def labels(project: Project, group: Group) -> dict[str, str]:
    out = {n.NAME_LABEL: n.dns_label(group.owner), n.PART_OF_LABEL: n.dns_label(project.name),
           n.MANAGED_LABEL: "stacktui", **selector(project, group)}
    if group.user is not None:
        out[n.USER_LABEL] = group.user
    return out


def build_workload(project: Project, group: Group, options: ExportOptions, notes: Notes,
                   images: dict[str, str], rewrites: dict[str, str]) -> Workload:
    meta_labels = labels(project, group)
    pod = PodParts()
    containers: list[dict[str, Any]] = []
    liveness = False
    for name in group.members:
        spec = project.services[name]
        c = container(spec, images[name], pod, notes, options, group.user, meta_labels, rewrites, project.working_dir)
        liveness |= _probes(c, spec, group, notes)
        _group_notes(spec, group, notes)
        containers.append(c)
    _container_ports(project, group, containers, options)
    pod_spec: dict[str, Any] = {}
    if options.sidecars and len(containers) > 1:
        # Each init container with restartPolicy Always is a sidecar: the kubelet starts the next
        # only once its startup probe passed, and restarts it whenever it exits.
        pod_spec["initContainers"] = [{**c, "restartPolicy": "Always"} for c in containers[:-1]]
        pod_spec["containers"] = containers[-1:]
    else:
        pod_spec["containers"] = containers
    pod_spec["restartPolicy"] = "Always"
    pod_spec["enableServiceLinks"] = False  # Compose sets no SERVICE_PORT variables; neither does this
    pod_spec.update(pod.spec())
    members = ",".join(n.dns_label(m) for m in group.members)
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": group.name, "labels": meta_labels, "annotations": {n.SERVICES_LABEL: members}},
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                 "selector": {"matchLabels": selector(project, group)},
                 "template": {"metadata": {"labels": meta_labels}, "spec": pod_spec}},
    }
    service, published = _service(project, group, options, meta_labels)
    return Workload(deployment, service, list(pod.needs.values()), published, liveness)


def _container_ports(project: Project, group: Group, containers: list[dict[str, Any]],
                     options: ExportOptions) -> None:
    """Each port on the member that listens on it (x-stacktui.listens), else on the owner, where Compose
    lists it; with --expose hostport, a published one keeps its host port and address."""
    listener = {p: m for m in reversed(group.members) for p in project.services[m].x.listens}
    by_member: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[int, str]] = set()
    for name in group.members:
        spec = project.services[name]
        found: list[tuple[int, str, PortSpec | None]] = [(p.target, p.protocol.upper(), p) for p in spec.ports]
        found += [(t, "TCP", None) for t in sorted(exposed_targets(project, name) | set(spec.x.listens))]
        for target, proto, port in found:
            if (target, proto) in seen:
                continue
            seen.add((target, proto))
            entry: dict[str, Any] = {"name": f"{proto.lower()}-{target}", "containerPort": target, "protocol": proto}
            if options.expose == "hostport" and port is not None and port.host_port is not None:
                entry["hostPort"] = port.host_port
                if port.host_ip:
                    entry["hostIP"] = port.host_ip
            by_member.setdefault(listener.get(target, group.owner), []).append(entry)
    for name, c in zip(group.members, containers):
        if by_member.get(name):
            c["ports"] = sorted(by_member[name], key=lambda e: (e["containerPort"], e["protocol"]))


def _probes(c: dict[str, Any], spec: ServiceSpec, group: Group, notes: Notes) -> bool:
    """Startup, readiness and liveness probes on the container; True when a liveness probe was set."""
    check = healthcheck(spec)
    url = spec.x.health
    if url and url_host(url) not in {*group.members, *LOCAL_HOSTS}:
        notes.add(spec.name, f"x-stacktui.health {url} is not served inside its Pod",
                  "no httpGet probe for it", "x-stacktui", "health")
        url = None
    if check is not None:
        c["startupProbe"] = check.startup()
    if url:
        period = check.interval if check else 5
        failures = check.retries if check else 3
        timeout = check.timeout if check else 2
        c["readinessProbe"] = {**http_check(url), "periodSeconds": period, "timeoutSeconds": timeout,
                               "failureThreshold": failures}
        if check is None:  # the URL gates the start too: up to a minute, as stacktui's restart gate waits
            c["startupProbe"] = {**http_check(url), "periodSeconds": 1, "timeoutSeconds": timeout,
                                 "failureThreshold": 60}
    elif check is not None:
        c["readinessProbe"] = check.steady()
    if check is not None:
        c["livenessProbe"] = check.steady()
        return True
    return False


def _group_notes(spec: ServiceSpec, group: Group, notes: Notes) -> None:
    inside = set(group.members)
    for dep, cond in spec.depends_on.items():
        if dep not in inside:
            notes.add(spec.name, f"depends_on {dep} ({cond.condition})",
                      f"Kubernetes starts each Deployment on its own: nothing holds this Pod until {dep} is up; "
                      "its probes and restarts wait it out", "depends_on", dep)
    for key in ("ipc", "pid"):
        target = spec.namespace_target(key)
        if target and target not in inside:
            notes.add(spec.name, f"{key}: service:{target} outside its network group",
                      f"its own Pod's {key} namespace instead", key)
    mode = str(spec.network_mode or "")
    if mode.startswith("container:"):
        notes.add(spec.name, f"network_mode: {mode}", "its own Pod's namespaces instead", "network_mode")
    restart = str(spec.raw.get("restart") or "")
    if restart == "no" or restart.startswith("on-failure"):
        notes.add(spec.name, f"restart: {restart}",
                  "restarts always: a Deployment's Pod has restartPolicy Always", "restart")


def _service(project: Project, group: Group, options: ExportOptions,
             meta_labels: dict[str, str]) -> tuple[dict[str, Any] | None, list[int]]:
    """The group's Service, named after its owner: every port a member publishes, exposes or listens on."""
    ports: dict[tuple[int, str], dict[str, Any]] = {}
    published: list[int] = []
    for name in group.members:
        spec = project.services[name]
        for p in spec.ports:
            ports.setdefault((p.target, p.protocol.upper()), {"host": p.host_port})
            if p.published and p.target not in published:
                published.append(p.target)
        for target in sorted(exposed_targets(project, name) | set(spec.x.listens)):
            ports.setdefault((target, "TCP"), {"host": None})
    if not ports:
        return None, []
    entries = []
    for (target, proto), info in sorted(ports.items()):
        entry: dict[str, Any] = {"name": f"{proto.lower()}-{target}", "port": target, "targetPort": target,
                                 "protocol": proto}
        host = info["host"]
        if options.expose == "nodeport" and host is not None and 30000 <= host <= 32767:
            entry["nodePort"] = host
        entries.append(entry)
    body: dict[str, Any] = {"selector": selector(project, group), "ports": entries}
    if published and options.expose == "nodeport":
        body["type"] = "NodePort"
    elif published and options.expose == "loadbalancer":
        body["type"] = "LoadBalancer"
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": group.name, "labels": meta_labels},
               "spec": body}
    return service, published


def ordered_members(project: Project, owner: str, members: list[str]) -> list[str]:
    """Owner first; a joiner after the service it joins (a chain flattened), else in declared order
    (`members` comes in declared order: the sort is stable)."""
    return sorted(members, key=lambda m: len(chain(project, m)) - 1 if m != owner else -1)
