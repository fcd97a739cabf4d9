"""Layout changes: move a service out of its owner's namespaces, or into them.

A change is computed on the ruamel.yaml round-trip tree of the compose file
that defines the service, so comments, key order, quoting and anchors stay;
the result is a new text plus a unified diff. Nothing here writes a file or
touches a container: core/history.py writes, core/layout_apply.py applies.

Words used below: D is the service that moves, O the service whose namespaces
it leaves or joins, R the owner of O's network namespace (O itself unless O
joins another one), "carried" the services that join D's network and move with
it. Only R can publish ports, so ports always move between R's and D's `ports`.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from stacktui.core import yamledit
from stacktui.core.errors import ConfigError, SourceRef, StackError
from stacktui.core.model import Project
from stacktui.core.probes import namespace_root
from stacktui.core.source import parse_text, round_trip_yaml

if TYPE_CHECKING:
    from stacktui.core.engine import Engine

LOCAL_HOSTS = ("localhost", "127.0.0.1")
# host:port as it appears in URLs and address settings; the host must stand alone.
_REF = re.compile(r"(?<![\w.\-])(?P<host>[A-Za-z0-9_][A-Za-z0-9_.\-]*):(?P<port>\d{1,5})(?![\d@])")
# Keys a container in another's network namespace may not set (the engine refuses them).
_NETWORK_OWN_KEYS = ("hostname", "domainname", "dns", "dns_search", "dns_opt", "extra_hosts", "mac_address")
# Where new keys go when there is nothing to take the place of: after these, in this order.
_EARLY_KEYS = ("image", "build", "container_name", "command", "entrypoint", "init", "network_mode", "ipc", "pid")


class PortsUnknown(ConfigError):
    """stacktui cannot tell which of the owner's ports belong to the service; the user must say."""

    def __init__(self, message: str, *, service: str, candidates: list[int], where: SourceRef | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.service = service
        self.candidates = candidates


@dataclass
class LayoutChange:
    """One prepared edit of one compose file; nothing is written until it is applied."""

    file: Path
    old_text: str
    new_text: str
    diff: str
    reason: str
    touched_services: list[str]
    kind: str = "edit"  # separate | shared | undo
    service: str | None = None
    owner: str | None = None
    ports: tuple[int, ...] = ()  # container ports that change namespace
    notes: list[str] = field(default_factory=list)
    undoes: int | None = None  # the history entry an undo reverts

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text


# ---------------------------------------------------------------- the namespace graph


def network_members(project: Project, service: str) -> list[str]:
    """Services that join service's network namespace, directly or through another member."""
    found: list[str] = []
    frontier = [service]
    while frontier:
        owner = frontier.pop(0)
        for name, spec in project.services.items():
            if spec.namespace_target("network_mode") == owner and name not in found and name != service:
                found.append(name)
                frontier.append(name)
    return [n for n in project.services if n in found]


def ipc_root(project: Project, service: str) -> str:
    seen: set[str] = set()
    while service in project.services and service not in seen:
        seen.add(service)
        nxt = project.services[service].namespace_target("ipc")
        if not nxt:
            break
        service = nxt
    return service


def _published_targets(project: Project, service: str) -> set[int]:
    return {p.target for p in project.services[service].ports}


def _listens(project: Project, services: Iterable[str]) -> set[int]:
    return {p for s in services for p in project.services[s].x.listens}


@dataclass
class Member:
    service: str
    joins: dict[str, str]  # kind (network_mode, ipc, pid) -> service
    listens: tuple[int, ...]


@dataclass
class NamespaceGroup:
    """One network namespace: its owner, who joins it, and what it publishes."""

    owner: str
    ipc: str | None  # the owner's ipc setting as written (shareable, service:X, ...)
    members: list[Member]
    ports: list[tuple[str, str | None]]  # (PortSpec label, the member that listens on it, if known)
    listens: tuple[int, ...]


def describe(project: Project) -> list[NamespaceGroup]:
    """Every network namespace of the project, owners in declared order."""
    groups: list[NamespaceGroup] = []
    for name, spec in project.services.items():
        if spec.namespace_target("network_mode"):
            continue
        members = [Member(m, project.services[m].namespace_targets(), project.services[m].x.listens)
                   for m in network_members(project, name)]
        who: dict[int, str] = {p: name for p in spec.x.listens}
        for m in members:
            for p in m.listens:
                who.setdefault(p, m.service)
        ports = [(p.label(), who.get(p.target)) for p in spec.ports]
        groups.append(NamespaceGroup(name, spec.ipc, members, ports, spec.x.listens))
    return groups


# ---------------------------------------------------------------- references in settings


Rule = Callable[[str, int], "str | None"]


def rewrite_refs(text: str, rule: Rule) -> str:
    """Replace the host of every host:port in text for which rule names a new host."""
    def swap(m: re.Match[str]) -> str:
        new = rule(m.group("host"), int(m.group("port")))
        return f"{new}:{m.group('port')}" if new else m.group(0)

    return _REF.sub(swap, text)


def live_ports(project: Project, engine: "Engine | None") -> dict[str, set[int]]:
    """Ports each service listens on right now, from the health feature's live listeners.

    Empty when there is no engine, nothing runs, or that feature is not available.
    """
    if engine is None:
        return {}
    try:
        from stacktui.core import liveports  # type: ignore[attr-defined]  # built by the health feature
    except ImportError:
        return {}
    try:
        containers = engine.project_containers(project.name)
        listeners = liveports.namespace_listeners(project, engine, containers)
    except (StackError, OSError):
        return {}
    found: dict[str, set[int]] = {}
    for item in listeners:
        found.setdefault(str(item.service), set()).add(int(item.port))
    return found


# ---------------------------------------------------------------- editing one file


class _Editor:
    """The round-trip tree of the one file a change edits, and what was touched in it."""

    def __init__(self, project: Project, service: str) -> None:
        if project.read_only or project.source is None:
            raise ConfigError(f"project {project.name} was attached from its containers; there is no file to edit",
                              hint="run stacktui in the project folder or pass -f FILE")
        self.project = project
        sf = project.source.file_of(service)
        if sf is None:
            raise ConfigError(f"{service} is not defined in any compose file of {project.name}")
        self.file = sf.path
        try:
            raw = self.file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {self.file}: {exc.strerror}") from exc
        try:
            self.old_text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{self.file} is not UTF-8 text") from exc
        self.bom = self.old_text.startswith("\ufeff")
        body = self.old_text[1:] if self.bom else self.old_text
        self.crlf = "\r\n" in body
        self.text = body.replace("\r\n", "\n") if self.crlf else body
        self.yaml = round_trip_yaml(self.text)
        self.tree = parse_text(self.text, self.file)
        self.base = yamledit.dump(self.yaml, parse_text(self.text, self.file))
        services = self.tree.get("services") if isinstance(self.tree, CommentedMap) else None
        self.services: CommentedMap = services if isinstance(services, CommentedMap) else CommentedMap()
        self.aliased = yamledit.aliased_nodes(self.tree)
        self.touched: list[str] = []
        self.notes: list[str] = []

    def where(self, service: str, *path: Any) -> SourceRef | None:
        return self.project.source.locate(service, *path) if self.project.source else None

    def has(self, service: str) -> bool:
        return isinstance(self.services.get(service), CommentedMap)

    def node(self, service: str) -> CommentedMap:
        """The service's map in this file, ready to edit; refuses what an edit cannot keep intact."""
        node = self.services.get(service)
        if not isinstance(node, CommentedMap):
            other = self.project.source.file_of(service) if self.project.source else None
            raise ConfigError(f"{service} is defined in {other.path if other else 'another file'}, not in {self.file}",
                              hint="a layout change edits one compose file; move the service's definition there")
        for sf in self.project.source.files if self.project.source else []:
            if sf.path != self.file and service in sf.services():
                raise ConfigError(f"{service} is defined in both {self.file} and {sf.path}",
                                  where=self.where(service),
                                  hint="a layout change edits one compose file; merge the definitions first")
        if id(node) in self.aliased or getattr(node, "merge", None):
            raise ConfigError(f"{service} is built from a YAML anchor or merge key (<<); stacktui will not edit it",
                              where=self.where(service), hint="write the service out in full, then try again")
        if service not in self.touched:
            self.touched.append(service)
        return node

    def own(self, node: CommentedMap, key: str, service: str) -> Any:
        """A key's value when it is written in the service itself (not merged, not an alias)."""
        if key not in node:
            return None
        if key not in yamledit.own_keys(node):
            raise ConfigError(f"{key} of {service} comes from a YAML merge key; stacktui will not edit it",
                              where=self.where(service, key))
        value = node[key]
        if isinstance(value, (CommentedMap, CommentedSeq)) and id(value) in self.aliased:
            raise ConfigError(f"{key} of {service} is a YAML alias shared with other places; stacktui will not edit it",
                              where=self.where(service, key), hint="write it out in full, then try again")
        return value

    def render(self) -> str:
        edited = yamledit.dump(self.yaml, self.tree)
        text = yamledit.carry_over(self.text, self.base, edited)
        if text is None:
            text = edited
            self.notes.append(f"{self.file.name} is not written the way ruamel.yaml writes YAML; "
                              "lines near the change were re-indented")
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return ("\ufeff" if self.bom else "") + text

    def change(self, kind: str, reason: str, service: str, owner: str, ports: Iterable[int]) -> LayoutChange:
        new_text = self.render()
        name = str(self.file)
        diff = "".join(difflib.unified_diff(self.old_text.splitlines(keepends=True),
                                            new_text.splitlines(keepends=True),
                                            fromfile=f"{name} (now)", tofile=f"{name} ({kind})"))
        order = [s for s in self.project.services if s in self.touched]
        return LayoutChange(file=self.file, old_text=self.old_text, new_text=new_text, diff=diff, reason=reason,
                            touched_services=order, kind=kind, service=service, owner=owner,
                            ports=tuple(sorted(ports)), notes=list(self.notes))

    # -- settings that name other services

    def rewrite_settings(self, rule_for: Callable[[str, bool], Rule | None], service: str) -> None:
        """Rewrite host:port references in every service's environment and x-stacktui.health.

        rule_for(service, in_environment) gives the rule for that service's settings.
        """
        for name in list(self.services):
            node = self.services.get(name)
            if not isinstance(node, CommentedMap):
                continue
            changed_keys = self._rewrite_env(name, node, rule_for(name, True))
            ext = node.get("x-stacktui")
            rule = rule_for(name, False)
            if isinstance(ext, CommentedMap) and isinstance(ext.get("health"), str) and rule:
                new = rewrite_refs(ext["health"], rule)
                if new != ext["health"]:
                    self.node(name)
                    ext["health"] = yamledit.same_style(ext["health"], new)
            self._check_effective_env(name, rule_for(name, True), changed_keys, service)

    def _rewrite_env(self, name: str, node: CommentedMap, rule: Rule | None) -> set[str]:
        env = node.get("environment")
        changed: set[str] = set()
        if rule is None or env is None:
            return changed
        if isinstance(env, CommentedSeq):
            for i, item in enumerate(env):
                if not isinstance(item, str) or "=" not in item:
                    continue
                key, value = item.split("=", 1)
                new = rewrite_refs(value, rule)
                if new != value:
                    self.node(name)
                    self.own(node, "environment", name)
                    env[i] = yamledit.same_style(item, f"{key}={new}")
                    changed.add(key)
        elif isinstance(env, CommentedMap):
            for key in list(env):
                value = env[key]
                if not isinstance(value, str):
                    continue
                new = rewrite_refs(value, rule)
                if new != value:
                    self.node(name)
                    self.own(node, "environment", name)
                    env[key] = yamledit.same_style(value, new)
                    changed.add(str(key))
        return changed

    def _check_effective_env(self, name: str, rule: Rule | None, changed: set[str], service: str) -> None:
        """A value Compose sees but this file does not spell out (a variable, an env_file) is the user's to fix."""
        spec = self.project.services.get(name)
        if rule is None or spec is None:
            return
        for key, value in spec.environment.items():
            if isinstance(value, str) and key not in changed:
                new = rewrite_refs(value, rule)
                if new != value:
                    self.notes.append(f"{name}: {key}={value} must become {new} for {service}'s new address, "
                                      f"but the value does not come from {self.file.name} "
                                      "(a variable or an env_file?): change it there")

    # -- ports and expose

    def entry_ports(self, service: str, key: str, seq: CommentedSeq) -> list[set[int] | None]:
        """The container ports of each entry of a ports/expose list; None when it cannot be read."""
        found: list[set[int] | None] = [_container_ports(item) for item in seq]
        effective = self.project.services[service].ports if key == "ports" else []
        if key == "ports" and len(effective) == len(seq):
            found = [f if f is not None else {effective[i].target} for i, f in enumerate(found)]
        return found

    def take_entries(self, service: str, key: str, pick: Callable[[set[int]], bool],
                     moving: set[int]) -> tuple[list[tuple[Any, list[Any] | None]], str | None, str]:
        """Detach the entries of service's ports/expose whose container ports pick accepts.

        Returns the entries, and when the list is left empty (so the key is gone too) the
        key that followed it and the comment lines that followed it, for the caller to place.
        """
        node = self.services[service]
        seq = self.own(node, key, service)
        if not isinstance(seq, CommentedSeq) or not len(seq):
            return [], None, ""
        indices: list[int] = []
        for i, ports in enumerate(self.entry_ports(service, key, seq)):
            if ports is None:
                raise ConfigError(f"cannot read the container port of {key} entry {seq[i]!r} of {service}",
                                  where=self.where(service, key, i),
                                  hint="write it as HOST:CONTAINER or use the long form with target:")
            if pick(ports):
                if not ports <= moving:
                    raise ConfigError(f"{key} entry {seq[i]!r} of {service} is a range that mixes ports that move "
                                      f"({', '.join(map(str, sorted(ports & moving)))}) with ports that stay",
                                      where=self.where(service, key, i), hint="split the range into single ports")
                indices.append(i)
        if not indices:
            return [], None, ""
        self.node(service)
        taken, orphan = yamledit.detach_items(seq, indices)
        if not len(seq):
            keys = list(node.keys())
            follower = keys[keys.index(key) + 1] if keys.index(key) + 1 < len(keys) else ""
            _pos, gap = yamledit.remove_keys(node, [key])
            return taken, follower, orphan + gap
        if orphan:
            yamledit.place_gap(node, list(node.keys()).index(key), orphan)
        return taken, None, ""

    def put_entries(self, service: str, key: str, items: list[tuple[Any, list[Any] | None]],
                    pos: int | None = None) -> None:
        """Append entries to service's ports/expose, making the key (at pos, else early) if missing."""
        if not items:
            return
        node = self.node(service)
        seq = self.own(node, key, service)
        if isinstance(seq, CommentedSeq):
            yamledit.append_items(seq, items)
            return
        if seq is not None:
            raise ConfigError(f"{key} of {service} is not a list", where=self.where(service, key))
        yamledit.insert_keys(node, _early_position(node) if pos is None else pos, [(key, yamledit.new_seq(items))])


def _early_position(node: CommentedMap, before: str | None = None) -> int:
    """Where a new key goes: just before `before` if present, else after the usual first keys."""
    keys = list(node.keys())
    if before and before in keys:
        return keys.index(before)
    last = -1
    for i, k in enumerate(keys):
        if k in _EARLY_KEYS:
            last = i
    return last + 1


def _container_ports(item: Any) -> set[int] | None:
    """Container ports of one ports/expose entry as written: '8080', '127.0.0.1:1:80/tcp', 9000-9001, {target: 80}."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return {item}
    if isinstance(item, CommentedMap):
        target = item.get("target")
        return {int(target)} if isinstance(target, int) or (isinstance(target, str) and target.isdigit()) else None
    if not isinstance(item, str):
        return None
    spec = item.strip().split("/", 1)[0]
    container = spec.rsplit(":", 1)[-1] if not spec.endswith("]") else spec
    lo, sep, hi = container.partition("-")
    if lo.isdigit() and (not sep or hi.isdigit()):
        first, last = int(lo), int(hi) if sep else int(lo)
        if first <= last and last - first < 65536:
            return set(range(first, last + 1))
    return None


def _take_and_close(ed: _Editor, service: str, key: str, pick: Callable[[set[int]], bool],
                    moving: set[int]) -> list[tuple[Any, list[Any] | None]]:
    """take_entries, with the comment lines of an emptied list left where the list was."""
    taken, follower, gap = ed.take_entries(service, key, pick, moving)
    if follower is not None:
        node = ed.services[service]
        yamledit.place_gap(node, list(node.keys()).index(follower) if follower in node else len(node), gap)
    return taken


def _quoted(text: str) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(text)


# ---------------------------------------------------------------- which ports move


def _moving_ports(project: Project, service: str, group: list[str], root: str, old_group: list[str],
                  explicit: Iterable[int] | None, engine: "Engine | None") -> set[int]:
    if explicit is not None:
        chosen = {int(p) for p in explicit}
        bad = sorted(p for p in chosen if not 1 <= p <= 65535)
        if bad:
            raise ConfigError(f"not a port (1-65535): {', '.join(map(str, bad))}")
        return chosen
    known: dict[str, set[int]] = {s: set(project.services[s].x.listens) for s in group
                                  if project.services[s].x.listens}
    missing = [s for s in group if s not in known]
    if missing:
        live = live_ports(project, engine)
        for s in list(missing):
            if live.get(s):
                known[s] = live[s]
                missing.remove(s)
    if not missing:
        return {p for ports in known.values() for p in ports}
    claimed = _listens(project, [s for s in old_group if s not in group]) | {p for v in known.values() for p in v}
    candidates = sorted(_published_targets(project, root) - claimed)
    who = " and ".join(missing)
    published = f"; {root} publishes {', '.join(map(str, candidates))} that no other service claims" if candidates else ""
    example = ",".join(map(str, candidates)) or "PORT,PORT"
    raise PortsUnknown(
        f"cannot tell which ports {who} listen{'s' if len(missing) == 1 else ''} on{published}",
        service=missing[0], candidates=candidates, where=project.services[missing[0]].where,
        hint=f"add `x-stacktui: {{listens: [...]}}` to {missing[0]}, or pass --ports {example}"
             + (f" (all ports that move with {service})" if len(group) > 1 else ""),
    )


# ---------------------------------------------------------------- separate


def prepare_separate(project: Project, service: str, ports: Iterable[int] | None = None, *,
                     engine: "Engine | None" = None) -> LayoutChange:
    """Give service its own namespaces back, taking its ports and the services that join it along."""
    spec = project.service(service)
    net_owner = spec.namespace_target("network_mode")
    ipc_owner = spec.namespace_target("ipc")
    owner = net_owner or ipc_owner
    if owner is None:
        raise ConfigError(f"{service} shares no namespace with another service; it is separate already",
                          where=spec.where)
    ed = _Editor(project, service)
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
        moving = _moving_ports(project, service, group, root, old_group, ports, engine)
        stay_members = [s for s in old_group if s not in group]
        clash = moving & _listens(project, stay_members)
        if clash:
            theirs = [s for s in stay_members if set(project.services[s].x.listens) & clash]
            raise ConfigError(f"port {', '.join(map(str, sorted(clash)))} is {theirs[0]}'s (x-stacktui.listens), "
                              f"it cannot move with {service}", where=project.services[theirs[0]].where)
        staying = (_published_targets(project, root) | _listens(project, stay_members)) - moving

    node = ed.node(service)
    drop = [k for k, t in (("network_mode", net_owner), ("ipc", ipc_owner)) if t]
    for key in drop:
        if key not in node:
            raise ConfigError(f"{key} of {service} is not written in {ed.file}", where=ed.where(service),
                              hint="edit the file that sets it")
        ed.own(node, key, service)
    pos, gap = yamledit.remove_keys(node, drop)

    taken: list[tuple[Any, list[Any] | None]] = []
    exposed: list[tuple[Any, list[Any] | None]] = []
    if net_owner:
        taken = _take_and_close(ed, root, "ports", lambda ps: bool(ps & moving), moving)
        exposed = _take_and_close(ed, root, "expose", lambda ps: bool(ps & moving), moving)
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

    def rule_for(name: str, in_env: bool) -> Rule | None:
        local_rule: Rule | None = None
        if in_env and name in moving_group:
            local_rule = lambda h, p: root if h in LOCAL_HOSTS and p in staying else None  # noqa: E731
        elif in_env and name in members:
            local_rule = lambda h, p: service if h in LOCAL_HOSTS and p in moving else None  # noqa: E731

        def rule(h: str, p: int) -> str | None:
            if h in members and p in moving:
                return service
            return local_rule(h, p) if local_rule else None

        return rule if net_owner else None

    ed.rewrite_settings(rule_for, service)
    if net_owner and not moving:
        ed.notes.append(f"no ports move: {service} listens on none that {root} publishes")
    along = f", taking {', '.join(carried)} along" if carried else ""
    moved = f" (ports {', '.join(map(str, sorted(moving)))})" if moving else ""
    return ed.change("separate", f"separate {service} from {owner}{along}{moved}", service, owner, moving)


def _drop_unused_shareable(ed: _Editor, owner: str, leaving: str) -> None:
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
    ed = _Editor(project, service)
    node = ed.node(service)

    for key in _NETWORK_OWN_KEYS:
        if key in node:
            raise ConfigError(f"{service} sets {key}, which the engine refuses together with network_mode: service:X",
                              where=ed.where(service, key), hint=f"remove {key} from {service} first")
    mine = _published_targets(project, service) | _listens(project, group)
    theirs = _published_targets(project, root) | _listens(project, target_group)
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
    if my_ipc and my_ipc.startswith("service:"):
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
    exposed = _take_and_close(ed, service, "expose", lambda ps: True, everything)
    had_networks = "networks" in node
    for extra in ("networks", "ipc"):
        if extra in node:
            ed.own(node, extra, service)
            pos, extra_gap = yamledit.remove_keys(node, [extra])
            yamledit.place_gap(node, pos, extra_gap)
    if had_networks:
        ed.notes.append(f"{service}'s networks: went away; in {root}'s namespace it is on {root}'s networks")
    if follower is None:
        pos = _early_position(node)
    else:
        pos = list(node.keys()).index(follower) if follower in node else len(node)
    yamledit.insert_keys(node, pos, [("network_mode", _quoted(f"service:{owner}")),
                                     ("ipc", _quoted(f"service:{ipc_target}"))], gap)

    # R publishes them now, and offers its ipc namespace.
    ed.put_entries(root, "ports", taken, pos=_early_position(ed.services[root]) if ed.has(root) else None)
    ed.put_entries(root, "expose", exposed)
    if ipc_mode != "shareable":
        rnode = ed.node(ipc_target)
        if "ipc" in rnode:
            ed.own(rnode, "ipc", ipc_target)
            rnode["ipc"] = "shareable"
        else:
            yamledit.insert_keys(rnode, _early_position(rnode, before="ports"), [("ipc", "shareable")])

    moving_group = set(group)
    target_members = set(target_group)
    moving = {p for p in mine}

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
