"""The whole export: a Project and the options in, Kubernetes objects, notes and what to say once out."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stacktui.core.compose.model import Project
from stacktui.core.errors import ConfigError
from stacktui.core.kube import names as n
from stacktui.core.kube.notes import ExportRefused, Note, Notes
from stacktui.core.kube.options import ExportOptions
from stacktui.core.kube.volumes import CLAIM_SIZE
from stacktui.core.kube.workload import Group, build_workload, ordered_members
from stacktui.core.namespaces.groups import network_groups


@dataclass
class Export:
    objects: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what holds for the whole export, said once


def export_project(project: Project, options: ExportOptions) -> Export:
    """Every object, in a stable order: per workload what its Pod mounts, its Deployment and Service; then the
    ConfigMap of per-user routes. Raises ExportRefused (exit 2) when a note is an error or --strict."""
    notes = Notes(locate=project.source.locate if project.source is not None else (lambda *a: None))
    groups = _groups(project, options)
    images = _images(project, [m for g in groups for m in g.members], notes)
    errors = list(notes.items)
    if errors:
        raise ExportRefused(errors)
    per_user = {g.owner for g in groups if g.user is not None}
    objects: list[dict[str, Any]] = []
    needs: dict[tuple[str, str], dict[str, Any]] = {}
    published: dict[str, list[int]] = {}
    liveness = False
    for group in groups:
        rewrites = {group.owner: group.name} if group.user is not None else {}
        work = build_workload(project, group, options, notes, images, rewrites)
        for need in work.needs:
            key = (need["kind"], need["metadata"]["name"])
            if key not in needs:
                needs[key] = need
                objects.append(need)
        objects.append(work.deployment)
        if work.service is not None:
            objects.append(work.service)
        if work.published:
            published[group.name] = work.published
        liveness |= work.liveness
        if group.user is None:
            _shared_notes(project, group, per_user, notes)
    if options.users:
        objects.append(_routes(project, groups, options))
    if options.namespace:
        for obj in objects:
            obj["metadata"]["namespace"] = options.namespace
        objects.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": options.namespace}})
    if options.strict and notes.items:
        raise ExportRefused(notes.items)
    kinds = {kind for kind, _ in needs}
    return Export(objects, notes.items, _said(project, groups, options, published, kinds, liveness, images))


def _groups(project: Project, options: ExportOptions) -> list[Group]:
    wanted = set(options.services)
    for name in options.services:
        project.service(name)  # an unknown name: ConfigError listing the services
    out: list[Group] = []
    for owner, members in network_groups(project).items():
        if owner not in project.services:
            continue
        if wanted and not wanted & set(members):
            continue
        ordered = ordered_members(project, owner, members)
        if len(ordered) > 1 and options.users:
            out += [Group(owner, ordered, user) for user in options.users]
        else:
            out.append(Group(owner, ordered))
    if not out:
        raise ConfigError("nothing to export: no service selected")
    return out


def _images(project: Project, services: list[str], notes: Notes) -> dict[str, str]:
    images: dict[str, str] = {}
    for name in services:
        spec = project.services[name]
        if spec.image:
            images[name] = spec.image
        else:
            what = "build: without image:" if spec.raw.get("build") else "no image"
            notes.add(name, f"{what}; a cluster pulls images by name",
                      "refused: add image: NAME (and push what Compose builds there)", "build")
    return images


def _shared_notes(project: Project, group: Group, per_user: set[str], notes: Notes) -> None:
    """A shared service that names a per-user owner: its Service is per user now."""
    for name in group.members:
        for key, value in project.services[name].environment.items():
            for owner in sorted(per_user):
                if value and (f"//{owner}:" in value or f"//{owner}/" in value or value == owner):
                    notes.add(name, f"environment {key} names {owner}, which is one per user now",
                              f"left as written: route per user with the ConfigMap {_routes_name(project)} "
                              "(see docs/kubernetes.md)", "environment", key)


def _routes_name(project: Project) -> str:
    return n.dns_label(f"{project.name}-users")


def _routes(project: Project, groups: list[Group], options: ExportOptions) -> dict[str, Any]:
    """Where a shared backend finds each user's Services: `users` and `routes.json` (user -> owner -> Service)."""
    routes: dict[str, dict[str, str]] = {user: {} for user in options.users}
    for g in groups:
        if g.user is not None:
            routes[g.user][g.owner] = g.name
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": _routes_name(project),
                         "labels": {n.PROJECT_LABEL: n.dns_label(project.name), n.MANAGED_LABEL: "stacktui"}},
            "data": {"users": " ".join(options.users), "routes.json": json.dumps(routes, sort_keys=True)}}


def _said(project: Project, groups: list[Group], options: ExportOptions, published: dict[str, list[int]],
          kinds: set[str], liveness: bool, images: dict[str, str]) -> list[str]:
    out = []
    pods = [g for g in groups if len(g.members) > 1]
    if pods and options.sidecars:
        out.append(f"start order (Kubernetes {options.version_text}): native sidecars; in each Pod every member "
                   "but the last is an init container with restartPolicy Always, started only once the one "
                   "before it passed its startup probe")
    elif pods:
        out.append(f"start order (Kubernetes {options.version_text}, before native sidecars in 1.29): containers "
                   "start in the order listed, owner first, without waiting for each other; each one's "
                   "readiness probe keeps the Pod out of its Service until all answer")
    ports = "; ".join(f"{name} {', '.join(map(str, p))}" for name, p in published.items())
    if ports and options.expose == "none":
        out.append(f"--expose none: ports Compose publishes on the host ({ports}) are reachable inside the "
                   "cluster only, at SERVICE:PORT; --expose nodeport, loadbalancer or hostport publishes them")
    elif ports and options.expose == "hostport":
        out.append(f"--expose hostport: ports Compose publishes on the host ({ports}) keep their host port and "
                   "address as hostPort on the node that runs the Pod (one such Pod per node"
                   f"{': every user asks for the same ones' if options.users else ''})")
    elif ports:
        kind = "NodePort" if options.expose == "nodeport" else "LoadBalancer"
        out.append(f"--expose {options.expose}: Services with ports Compose publishes on the host ({ports}) "
                   f"are of type {kind}")
    if liveness:
        out.append("healthchecks are liveness probes too: the kubelet restarts a container whose check fails "
                   "its retries in a row (Docker only marks it unhealthy)")
    if "ConfigMap" in kinds:
        out.append("read-only bind mounts of small folders and files are ConfigMaps: a copy of the files as they "
                   "are now (export again after changing them)")
    if "PersistentVolumeClaim" in kinds:
        out.append(f"named volumes are PersistentVolumeClaims of {CLAIM_SIZE}, ReadWriteOnce (Compose gives no size)")
    built = sorted({images[s] for g in groups for s in g.members if project.services[s].raw.get("build")})
    if built:
        out.append(f"built by Compose, pulled by the cluster: push {', '.join(built)} where its nodes pull from")
    if options.users:
        out.append(f"per user ({', '.join(options.users)}): each namespace group once per user, labelled "
                   f"{n.USER_LABEL}; the rest once; ConfigMap {_routes_name(project)} lists each user's Services")
    return out
