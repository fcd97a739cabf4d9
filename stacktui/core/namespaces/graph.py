"""The stack as a graph: which service needs which, and why.

An edge points from a dependant to what it needs: `network_mode`, `ipc` and
`pid` of the form `service:X` (or `container:NAME` naming a container of the
project) share a namespace; `volumes_from` and `depends_on` (with its condition
and `restart`) order start-up. The graph answers the two questions a restart
asks: who else must restart with S, and in which order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.compose.model import Project

NAMESPACE_KEYS = {"network_mode": "network", "ipc": "ipc", "pid": "pid"}
NAMESPACE_KINDS = tuple(NAMESPACE_KEYS.values())


@dataclass(frozen=True)
class Edge:
    dependant: str
    target: str
    kind: str  # network | ipc | pid | volumes_from | depends_on
    condition: str | None = None  # depends_on only
    restart: bool = False  # depends_on only: restart the dependant when the target restarts
    where: SourceRef | None = None

    @property
    def shares_namespace(self) -> bool:
        return self.kind in NAMESPACE_KINDS

    @property
    def key(self) -> str:
        """The compose key this edge was written as."""
        return {"network": "network_mode", "ipc": "ipc", "pid": "pid"}.get(self.kind, self.kind)

    def describe(self) -> str:
        if self.shares_namespace:
            return f"{self.dependant} joins {self.target}'s {self.kind} namespace"
        if self.kind == "volumes_from":
            return f"{self.dependant} takes volumes_from {self.target}"
        extra = f", {self.condition}" if self.condition and self.condition != "service_started" else ""
        return f"{self.dependant} depends_on {self.target}{extra}" + (" with restart: true" if self.restart else "")


class Graph:
    """Services in declared order and the edges between them."""

    def __init__(self, services: Iterable[str], edges: Iterable[Edge]) -> None:
        self.services = list(services)
        self.edges = list(edges)
        self._index = {s: i for i, s in enumerate(self.services)}

    def needs(self, service: str) -> list[Edge]:
        """Edges out of a service: what it needs."""
        return [e for e in self.edges if e.dependant == service]

    def needed_by(self, service: str) -> list[Edge]:
        """Edges into a service: who needs it."""
        return [e for e in self.edges if e.target == service]

    def missing_targets(self) -> list[Edge]:
        return [e for e in self.edges if e.target not in self._index]

    def find_cycle(self) -> list[Edge] | None:
        """One cycle as its edges in order, or None."""
        out: dict[str, list[Edge]] = {}
        for e in self.edges:
            if e.target in self._index:
                out.setdefault(e.dependant, []).append(e)
        state: dict[str, int] = {}  # 1 on the path, 2 done
        path: list[Edge] = []

        def visit(node: str) -> list[Edge] | None:
            state[node] = 1
            for e in out.get(node, []):
                if state.get(e.target) == 1:
                    start = next((i for i, p in enumerate(path) if p.dependant == e.target), len(path))
                    return path[start:] + [e]
                if state.get(e.target) is None:
                    path.append(e)
                    found = visit(e.target)
                    if found:
                        return found
                    path.pop()
            state[node] = 2
            return None

        for s in self.services:
            if s not in state:
                found = visit(s)
                if found:
                    return found
        return None

    def validate(self) -> None:
        """Missing targets and cycles are ConfigErrors naming file and line."""
        for e in self.missing_targets():
            known = ", ".join(self.services) or "none"
            raise ConfigError(
                f"service {e.dependant!r}: {e.key} names service {e.target!r}, which is not defined",
                where=e.where, hint=f"defined services: {known}")
        cycle = self.find_cycle()
        if cycle:
            loop = " -> ".join([cycle[0].dependant] + [e.target for e in cycle])
            why = "; ".join(
                f"{e.describe()}" + (f" ({e.where})" if e.where else "") for e in cycle)
            raise ConfigError(f"dependency cycle {loop}: {why}", where=cycle[0].where,
                              hint="break the cycle: one of these services must not need the other")

    def namespace_dependants(self, service: str) -> list[str]:
        """Every service living in a namespace of `service`, directly or through another joiner."""
        found: list[str] = []
        todo = [service]
        while todo:
            cur = todo.pop()
            for e in self.needed_by(cur):
                if e.shares_namespace and e.dependant not in found and e.dependant != service:
                    found.append(e.dependant)
                    todo.append(e.dependant)
        return self.order(found)

    def restart_set(self, services: Iterable[str]) -> dict[str, str]:
        """The services a restart of `services` must include, each with why.

        A restart gives a service new namespaces, so everyone who joined one of
        them (and whoever joined those) is stranded and must restart too; so
        must a `depends_on` dependant that asked for `restart: true`. The owner
        of a namespace that a requested service joins is left alone: its
        namespace survives the joiner's restart.
        """
        why: dict[str, str] = {}
        todo: list[str] = []
        for s in services:
            if s not in why:
                why[s] = "requested"
                todo.append(s)
        while todo:
            cur = todo.pop(0)
            for e in sorted(self.needed_by(cur), key=lambda e: self._index.get(e.dependant, 1 << 30)):
                if e.dependant in why:
                    continue
                if e.shares_namespace or (e.kind == "depends_on" and e.restart):
                    why[e.dependant] = e.describe()
                    todo.append(e.dependant)
        return why

    def order(self, subset: Iterable[str]) -> list[str]:
        """Topological order of `subset` (what is needed first), ties in declared order."""
        members = list(dict.fromkeys(subset))
        inside = set(members)
        waits: dict[str, set[str]] = {s: set() for s in members}
        for e in self.edges:
            if e.dependant in inside and e.target in inside and e.dependant != e.target:
                waits[e.dependant].add(e.target)
        ordered: list[str] = []
        while len(ordered) < len(members):
            ready = [s for s in members if s not in ordered and not waits[s] - set(ordered)]
            if not ready:
                self.validate()  # names the cycle with file and line
                raise ConfigError("dependency cycle among " + ", ".join(s for s in members if s not in ordered))
            ordered.append(min(ready, key=self._rank))
        return ordered

    def _rank(self, service: str) -> int:
        return self._index.get(service, len(self._index))


# --- edges of the effective model -------------------------------------------------------------

def container_names(project: Project) -> dict[str, str]:
    """Container names Compose gives the project's services (and `container_name`s), to services."""
    names: dict[str, str] = {}
    for name, spec in project.services.items():
        explicit = (spec.raw or {}).get("container_name")
        if explicit:
            names[str(explicit)] = name
    return names


def _container_ref(project: Project, ref: str) -> str | None:
    """The service a `container:NAME` reference names, when it is one of the project's."""
    named = container_names(project)
    if ref in named:
        return named[ref]
    m = re.fullmatch(rf"{re.escape(project.name)}[-_](.+)[-_](\d+)", ref)
    if m and m.group(1) in project.services:
        return m.group(1)
    return None


def _locate(project: Project, service: str, *path: Any) -> SourceRef | None:
    source = project.source
    if source is None:
        return project.services[service].where if service in project.services else None
    return source.locate(service, *path)


def _written(project: Project, service: str, key: str) -> bool:
    """Whether the source files write `key` for the service (Compose adds some edges itself)."""
    source = project.source
    if source is None:
        return False
    # locate() falls back to the service's own line when the key is written nowhere.
    return source.locate(service, key) != source.locate(service)


def project_edges(project: Project) -> Iterator[Edge]:
    for name, spec in project.services.items():
        namespace_targets: dict[str, SourceRef | None] = {}
        for key, kind in NAMESPACE_KEYS.items():
            value = getattr(spec, key)
            if not isinstance(value, str):
                continue
            target: str | None = None
            if value.startswith("service:"):
                target = value.split(":", 1)[1]
            elif value.startswith("container:"):
                target = _container_ref(project, value.split(":", 1)[1])
            if target:
                where = _locate(project, name, key)
                namespace_targets.setdefault(target, where)
                yield Edge(name, target, kind, where=where)
        for i, item in enumerate(spec.volumes_from):
            ref = item.split(":")[0] if not item.startswith("container:") else item.split(":")[1]
            target = _container_ref(project, ref) if item.startswith("container:") else ref
            if target:
                yield Edge(name, target, "volumes_from", where=_locate(project, name, "volumes_from", i))
        for dep, d in spec.depends_on.items():
            if _written(project, name, "depends_on") or dep not in namespace_targets:
                where = _locate(project, name, "depends_on", dep)
            else:
                where = namespace_targets[dep]  # the dependency Compose added for `service:X`
            yield Edge(name, dep, "depends_on", d.condition, d.restart, where)


def project_graph(project: Project) -> Graph:
    """The project's graph, validated: a missing target or a cycle raises ConfigError with file:line.

    A project attached from the engine (labels only) drops edges to services it cannot see.
    """
    edges = project_edges(project)
    if project.read_only:
        edges = (e for e in edges if e.target in project.services)
    graph = Graph(project.services, list(edges))
    graph.validate()
    return graph


# --- edges of the files as written (for when Compose itself refuses them) -----------------------

def _seq_line(node: Any, index: int) -> int | None:
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _key_line(node: Any, key: Any) -> int | None:
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def source_graph(source: Any) -> Graph:
    """Edges as the files write them, before interpolation and merging; values with `$` are skipped.

    Compose's `config` names no file or line when a target is missing or a cycle
    closes; this finds the line that says so.
    """
    services: list[str] = []
    edges: list[Edge] = []
    for sf in source.files:
        svc_map = sf.services()
        for name in svc_map:
            if name not in services:
                services.append(str(name))
        for name, node in svc_map.items():
            if not hasattr(node, "get"):
                continue
            for key, kind in NAMESPACE_KEYS.items():
                value = node.get(key)
                if isinstance(value, str) and value.startswith("service:") and "$" not in value:
                    edges.append(Edge(str(name), value.split(":", 1)[1], kind,
                                      where=SourceRef(sf.path, _key_line(node, key) or 1)))
            vf = node.get("volumes_from")
            if isinstance(vf, list):
                for i, item in enumerate(vf):
                    if isinstance(item, str) and not item.startswith("container:") and "$" not in item:
                        line = _seq_line(vf, i) or _key_line(node, "volumes_from") or 1
                        edges.append(Edge(str(name), item.split(":")[0], "volumes_from",
                                          where=SourceRef(sf.path, line)))
            deps = node.get("depends_on")
            if isinstance(deps, list):
                for i, item in enumerate(deps):
                    if isinstance(item, str) and "$" not in item:
                        line = _seq_line(deps, i) or _key_line(node, "depends_on") or 1
                        edges.append(Edge(str(name), item, "depends_on", where=SourceRef(sf.path, line)))
            elif hasattr(deps, "items"):
                for dep, spec in deps.items():
                    if "$" in str(dep):
                        continue
                    restart = bool(spec.get("restart")) if hasattr(spec, "get") else False
                    cond = spec.get("condition") if hasattr(spec, "get") else None
                    edges.append(Edge(str(name), str(dep), "depends_on", cond, restart,
                                      where=SourceRef(sf.path, _key_line(deps, dep) or 1)))
    return Graph(services, edges)
