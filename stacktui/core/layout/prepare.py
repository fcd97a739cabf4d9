"""Layout changes: move a service out of its owner's namespaces, or into them.

A change is computed on the ruamel.yaml round-trip tree of the compose file
that defines the service, so comments, key order, quoting and anchors stay;
the result is a new text plus a unified diff. Nothing here writes a file or
touches a container: layout.history writes, layout.apply applies.

Words used below: D is the service that moves, O the service whose namespaces
it leaves or joins, R the owner of O's network namespace (O itself unless O
joins another one), "carried" the services that join D's network and move with
it. Only R can publish ports, so ports always move between R's and D's `ports`.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from ruamel.yaml.comments import CommentedSeq

from stacktui.core.layout import yamledit
from stacktui.core.errors import ConfigError, PortsUnknown
from stacktui.core.layout.edit import (LayoutChange, LayoutEditor, Rule, early_position, quoted,
                                       rewrite_refs, take_and_close)
from stacktui.core.layout.whoseports import EngineSource, live_ports, moving_ports
from stacktui.core.namespaces.graph import Edge, project_graph
from stacktui.core.namespaces.groups import (exposed_targets, ipc_root, listens_of, namespace_root, network_members,
                                             published_targets)
from stacktui.core.compose.model import Project

__all__ = ["LayoutChange", "PortsUnknown", "prepare_separate", "prepare_shared", "rewrite_refs", "live_ports"]

LOCAL_HOSTS = ("localhost", "127.0.0.1")
# Keys a container in another's network namespace may not set (the engine refuses them).
_NETWORK_OWN_KEYS = ("hostname", "domainname", "dns", "dns_search", "dns_opt", "extra_hosts", "mac_address")


# A parenthesised aside about the sharing on a port line ("# MCP HTTP (shared namespace)").
_SHARING_ASIDE = re.compile(r"\s*\([^()]*\bshared?\b[^()]*\)", re.IGNORECASE)


def _forget_sharing_asides(items: list[tuple[Any, list[Any] | None]]) -> None:
    """A port line that moves to the separated service loses what its comment said about the
    sharing (it is false now); the rest of the comment stays, and an emptied one goes."""
    for _value, entry in items:
        if not entry:
            continue
        token = entry[0]
        if token is None or not _SHARING_ASIDE.search(token.value):
            continue
        text = _SHARING_ASIDE.sub("", token.value.rstrip("\n")).rstrip()
        if text.strip("# "):
            token.value = text + "\n"
        else:
            entry[0] = None


def _forget_owner_notes(gap: str, owner: str) -> str:
    """The comment lines that hung on a removed network_mode/ipc and name the owner ("Ports exposed
    through vscode service") describe the sharing that just ended: they go with those keys."""
    named = re.compile(rf"(?<![\w-]){re.escape(owner)}(?![\w-])")
    return "".join(line for line in gap.splitlines(keepends=True)
                   if not (line.lstrip().startswith("#") and named.search(line)))


# ---------------------------------------------------------------- separate


def prepare_separate(project: Project, service: str, ports: Iterable[int] | None = None, *,
                     engine: EngineSource = None) -> LayoutChange:
    """Give service its own namespaces back, taking its ports and the services that join it along.

    Which ports are the service's: ports when given (all that move, the carried services'
    included; refused when the running containers show them another's), else what listens in the
    running containers (asked of the engine), else each service's x-stacktui.listens, else
    PortsUnknown with every published port and who listens on it (core/layout/whoseports.py).
    """
    spec = project.service(service)
    net_owner = spec.namespace_target("network_mode")
    ipc_owner = spec.namespace_target("ipc")
    owner = net_owner or ipc_owner
    if owner is None:
        foreign = next((f"{k}: {getattr(spec, k)}" for k in ("network_mode", "ipc")
                        if str(getattr(spec, k) or "").startswith("container:")), None)
        if foreign:
            raise ConfigError(f"{service} joins a container by name ({foreign}), not a service of this "
                              "project: stacktui switches `service:` layouts only",
                              where=spec.where, hint="edit it by hand, or name the service it should join")
        raise ConfigError(f"{service} shares no namespace with another service; it is separate already",
                          where=spec.where)
    ed = LayoutEditor(project, service)
    if ipc_owner and ipc_owner != owner:
        ed.notes.append(f"{service} keeps joining {ipc_owner}'s ipc namespace (only {owner}'s are left)")
        ipc_owner = None
    carried = network_members(project, service) if net_owner else []
    group = [service, *carried]
    root = namespace_root(project, owner) if net_owner else owner
    old_group = [root, *network_members(project, root)] if net_owner else []
    moving: set[int] = set()
    staying: set[int] = set()
    if net_owner:
        moving = moving_ports(project, service, group, root, old_group, ports, engine)
        stay_members = [s for s in old_group if s not in group]
        clash = moving & listens_of(project, stay_members)
        if clash:
            theirs = [s for s in stay_members if set(project.services[s].x.listens) & clash]
            raise ConfigError(f"port {', '.join(map(str, sorted(clash)))} is {theirs[0]}'s (x-stacktui.listens), "
                              f"it cannot move with {service}", where=project.services[theirs[0]].where)
        staying = (published_targets(project, root) | listens_of(project, stay_members)) - moving

    node = ed.node(service)
    drop = [k for k, t in (("network_mode", net_owner), ("ipc", ipc_owner)) if t]
    for key in drop:
        if key not in node:
            raise ConfigError(f"{key} of {service} is not written in {ed.file}", where=ed.where(service),
                              hint=_where_else(node, key))
        ed.own(node, key, service)
    pos, gap = yamledit.remove_keys(node, drop)
    gap = _forget_owner_notes(gap, owner)

    taken: list[tuple[Any, list[Any] | None]] = []
    exposed: list[tuple[Any, list[Any] | None]] = []
    if net_owner:
        taken = take_and_close(ed, root, "ports", lambda ps: bool(ps & moving), moving)
        exposed = take_and_close(ed, root, "expose", lambda ps: bool(ps & moving), moving)
        _forget_sharing_asides(taken + exposed)
    new_keys: list[tuple[str, Any]] = []
    if taken and "ports" not in node:
        new_keys.append(("ports", yamledit.new_seq(taken)))
        taken = []
    if exposed and "expose" not in node:
        new_keys.append(("expose", yamledit.new_seq(exposed)))
        exposed = []
    nets = [n for n in (project.services[root].raw.get("networks") or {}) if n != "default"] if net_owner else []
    if nets and "networks" not in node:
        new_keys.append(("networks", CommentedSeq(nets)))
        ed.notes.append(f"{service} joins {root}'s networks ({', '.join(nets)}) to stay reachable")
    yamledit.insert_keys(node, pos, new_keys, gap)
    ed.put_entries(service, "ports", taken)
    ed.put_entries(service, "expose", exposed)

    if ipc_owner:
        _drop_unused_shareable(ed, ipc_root(project, ipc_owner), leaving=service)

    members = set(old_group)
    moving_group = set(group)

    unsure: dict[str, set[int]] = {}

    def to_owner(name: str) -> Rule:
        def rule(h: str, p: int) -> str | None:
            if h not in LOCAL_HOSTS:
                return None
            if p in staying:
                return root
            if p not in moving:
                unsure.setdefault(name, set()).add(p)
            return None

        return rule

    def rule_for(name: str, in_env: bool) -> Rule | None:
        local_rule: Rule | None = None
        if in_env and name in moving_group:
            local_rule = to_owner(name)
        elif in_env and name in members:
            local_rule = lambda h, p: service if h in LOCAL_HOSTS and p in moving else None  # noqa: E731

        def rule(h: str, p: int) -> str | None:
            if h in members and p in moving:
                return service
            return local_rule(h, p) if local_rule else None

        return rule if net_owner else None

    ed.rewrite_settings(rule_for, service)
    for name, found in unsure.items():
        ports_text = ", ".join(map(str, sorted(found)))
        ed.notes.append(f"{name} refers to localhost:{ports_text}, which nobody declares; after the change "
                        f"localhost is {service}'s own namespace: if that port is {root}'s, write {root}:PORT")
    if net_owner and not moving and not (published_targets(project, root) | exposed_targets(project, root)):
        ed.notes.append(f"no ports move: {root} publishes none")
    elif net_owner and not moving:
        ed.notes.append(f"no ports move: {service} listens on none that {root} publishes")
    along = f", taking {', '.join(carried)} along" if carried else ""
    moved = f" (ports {', '.join(map(str, sorted(moving)))})" if moving else ""
    return ed.change("separate", f"separate {service} from {owner}{along}{moved}", service, owner, moving)


def _drop_unused_shareable(ed: LayoutEditor, owner: str, leaving: str) -> None:
    """`ipc: shareable` stays only while some service still joins the owner's ipc namespace."""
    still = [s for s, spec in ed.project.services.items()
             if s != leaving and spec.namespace_target("ipc") == owner]
    if still or not ed.has(owner):
        return
    node = ed.services[owner]
    if str(node.get("ipc") or "") != "shareable":
        return
    ed.node(owner)
    ed.own(node, "ipc", owner)
    pos, gap = yamledit.remove_keys(node, ["ipc"])
    yamledit.place_gap(node, pos, gap)


# ---------------------------------------------------------------- shared


def _refuse_a_cycle(project: Project, service: str, group: list[str], hosts: list[str]) -> None:
    """A service cannot join the namespace of one that needs it: Compose refuses the cycle at `up`."""
    graph = project_graph(project)
    for host in dict.fromkeys(hosts):
        path: dict[str, list[Edge]] = {host: []}
        todo = [host]
        while todo:
            cur = todo.pop(0)
            for edge in graph.needs(cur):
                if edge.target in path:
                    continue
                path[edge.target] = [*path[cur], edge]
                if edge.target in group:
                    hops = path[edge.target]
                    why = "; ".join([hops[0].describe()] + [e.describe() + (f" ({e.where})" if e.where else "")
                                                            for e in hops[1:]])
                    raise ConfigError(f"{why}, so {service} cannot join {host}'s namespaces: the two would need "
                                      "each other, and Compose refuses that cycle", where=hops[0].where,
                                      hint=f"remove that dependency first, or share the other way: "
                                           f"stacktui layout shared {host} --with {service}")
                todo.append(edge.target)


def prepare_shared(project: Project, service: str, owner: str) -> LayoutChange:
    """Move service (and whoever joins it) into owner's network and ipc namespaces."""
    spec = project.service(service)
    project.service(owner)
    if owner == service:
        raise ConfigError(f"{service} cannot share its own namespaces", hint="name another service with --with")
    joined = spec.namespace_target("network_mode")
    if joined:
        again = "already shares" if joined == owner else "shares"
        raise ConfigError(f"{service} {again} {joined}'s network namespace",
                          where=project.source.locate(service, "network_mode") if project.source else spec.where,
                          hint=f"separate it first: stacktui layout separate {service}" if joined != owner else None)
    if spec.network_mode not in (None, "bridge", "default"):
        raise ConfigError(f"{service} has network_mode: {spec.network_mode}; stacktui only moves services "
                          "between their own and a shared namespace", where=spec.where)
    carried = network_members(project, service)
    group = [service, *carried]
    if owner in group:
        raise ConfigError(f"{owner} joins {service}'s network namespace; {service} cannot join it back",
                          where=project.services[owner].where)
    root = namespace_root(project, owner)
    root_mode = project.services[root].network_mode
    if root_mode not in (None, "bridge", "default"):
        raise ConfigError(f"{root} has network_mode: {root_mode}; there is no namespace of its own to share",
                          where=project.services[root].where)
    target_group = [root, *network_members(project, root)]
    _refuse_a_cycle(project, service, group, [owner, root, ipc_root(project, owner)])
    ed = LayoutEditor(project, service)
    node = ed.node(service)

    for key in _NETWORK_OWN_KEYS:
        if key in node:
            raise ConfigError(f"{service} sets {key}, which the engine refuses together with network_mode: service:X",
                              where=ed.where(service, key), hint=f"remove {key} from {service} first")
    mine = published_targets(project, service) | listens_of(project, group)
    theirs = published_targets(project, root) | listens_of(project, target_group)
    clash = sorted(mine & theirs)
    if clash:
        raise ConfigError(f"port {', '.join(map(str, clash))} is used in both {service}'s and {owner}'s namespaces; "
                          "sharing one namespace they would collide", where=spec.where,
                          hint="move one of them to another port first")

    ipc_target = ipc_root(project, owner)
    ipc_mode = project.services[ipc_target].ipc
    if ipc_mode not in (None, "shareable", "private"):
        raise ConfigError(f"{ipc_target} has ipc: {ipc_mode}; its ipc namespace cannot be shared",
                          where=project.services[ipc_target].where)
    my_ipc = spec.ipc
    ipc_joiners = [s for s, sp in project.services.items() if sp.namespace_target("ipc") == service]
    if my_ipc and my_ipc.startswith("service:") and my_ipc != f"service:{ipc_target}":
        raise ConfigError(f"{service} shares {my_ipc[len('service:'):]}'s ipc namespace",
                          where=ed.where(service, "ipc"), hint=f"separate it first: stacktui layout separate {service}")
    if ipc_joiners:
        raise ConfigError(f"{', '.join(ipc_joiners)} join{'s' if len(ipc_joiners) == 1 else ''} {service}'s ipc "
                          f"namespace, which would end when {service} joins {ipc_target}'s",
                          where=project.services[ipc_joiners[0]].where)
    nets = [n for n in (project.services[service].raw.get("networks") or {}) if n != "default"]
    own_nets = set(project.services[root].raw.get("networks") or {"default": None})
    if "networks" in node:
        stray = [n for n in nets if n not in own_nets]
        if stray:
            raise ConfigError(f"{service} is on networks {', '.join(stray)} that {root} is not on",
                              where=ed.where(service, "networks"),
                              hint=f"add them to {root} or remove them from {service} first")

    # D: its ports and expose go to R; network_mode and ipc take the place of its ports.
    everything = set(range(1, 65536))
    taken, follower, gap = ed.take_entries(service, "ports", lambda ps: True, everything)
    exposed = take_and_close(ed, service, "expose", lambda ps: True, everything)
    had_networks = "networks" in node
    for extra in ("networks", "ipc"):
        if extra in node:
            ed.own(node, extra, service)
            pos, extra_gap = yamledit.remove_keys(node, [extra])
            yamledit.place_gap(node, pos, extra_gap)
    if had_networks:
        ed.notes.append(f"{service}'s networks: went away; in {root}'s namespace it is on {root}'s networks")
    if follower is None:
        pos = early_position(node)
    else:
        pos = list(node.keys()).index(follower) if follower in node else len(node)
    yamledit.insert_keys(node, pos, [("network_mode", quoted(f"service:{owner}")),
                                     ("ipc", quoted(f"service:{ipc_target}"))], gap)

    # R publishes them now, and offers its ipc namespace.
    ed.put_entries(root, "ports", taken, pos=early_position(ed.services[root]) if ed.has(root) else None)
    ed.put_entries(root, "expose", exposed)
    if ipc_mode != "shareable":
        rnode = ed.node(ipc_target)
        if "ipc" in rnode:
            ed.own(rnode, "ipc", ipc_target)
            rnode["ipc"] = "shareable"
        else:
            yamledit.insert_keys(rnode, early_position(rnode, before="ports"), [("ipc", "shareable")])

    moving_group = set(group)
    target_members = set(target_group)
    moving = set(mine)

    def rule_for(name: str, in_env: bool) -> Rule | None:
        if in_env and name in moving_group:
            return lambda h, p: "localhost" if h in target_members or h in moving_group else None
        if in_env and name in target_members:
            return lambda h, p: "localhost" if h in moving_group else None
        return lambda h, p: root if h in moving_group else None

    ed.rewrite_settings(rule_for, service)
    along = f", taking {', '.join(carried)} along" if carried else ""
    via = f" (through {root})" if root != owner else ""
    return ed.change("shared", f"share {owner}'s network and ipc namespaces with {service}{via}{along}",
                     service, owner, moving)


def _where_else(node: Any, key: str) -> str:
    """Which file to edit when a key comes from elsewhere: an `extends` of another file names it."""
    ext = node.get("extends") if hasattr(node, "get") else None
    if isinstance(ext, dict) and ext.get("file"):
        return f"edit {key} in {ext['file']}, where the service it extends ({ext.get('service', '?')}) sets it"
    if isinstance(ext, dict) or isinstance(ext, str):
        return f"edit {key} in the service it extends, {ext.get('service') if isinstance(ext, dict) else ext}"
    return "edit the file that sets it (an override file, or an included one)"
