"""The edit of one compose file's round-trip tree behind a layout change, and the change it yields."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from stacktui.core.layout import yamledit
from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.compose.model import Project
from stacktui.core.compose.source import parse_text, round_trip_yaml, not_utf8
from stacktui.core.layout.merges import MergeGuard
from stacktui.core.layout.slices import ServiceSlices

# host:port as it appears in URLs and address settings; the host must stand alone.
_REF = re.compile(r"(?<![\w.\-])(?P<host>[A-Za-z0-9_][A-Za-z0-9_.\-]*):(?P<port>\d{1,5})(?![\d@])")
# Where new keys go when there is nothing to take the place of: after these, in this order.
_EARLY_KEYS = ("image", "build", "container_name", "command", "entrypoint", "init", "network_mode", "ipc", "pid")


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


Rule = Callable[[str, int], "str | None"]


def rewrite_refs(text: str, rule: Rule) -> str:
    """Replace the host of every host:port in text for which rule names a new host."""
    def swap(m: re.Match[str]) -> str:
        new = rule(m.group("host"), int(m.group("port")))
        return f"{new}:{m.group('port')}" if new else m.group(0)

    return _REF.sub(swap, text)


class LayoutEditor:
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
            raise not_utf8(self.file, exc) from exc
        self.bom = self.old_text.startswith("\ufeff")
        body = self.old_text[1:] if self.bom else self.old_text
        self.crlf = "\r\n" in body
        self.text = body.replace("\r\n", "\n") if self.crlf else body
        self.yaml = round_trip_yaml(self.text)
        self.slices = ServiceSlices.of(project, self.file, self.text, self.yaml)
        self.services: Any
        if self.slices is not None:  # no alias in the file: only the services the change touches are read
            self.tree = self.base = None
            self.services, self.aliased = self.slices, set()
        else:
            self.tree = parse_text(self.text, self.file)
            self.base = yamledit.dump(self.yaml, self.tree)  # before any edit: the text as ruamel re-emits it
            services = self.tree.get("services") if isinstance(self.tree, CommentedMap) else None
            self.services = services if isinstance(services, CommentedMap) else CommentedMap()
            self.aliased = yamledit.aliased_nodes(self.tree)
        self.touched: list[str] = []
        self.notes: list[str] = []
        self.merges = MergeGuard(self.tree, self._name_of, self.where)

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
                              where=self.where(service),
                              hint="a layout change edits one compose file; move the service's definition there")
        for sf in self.project.source.files if self.project.source else []:
            if sf.path != self.file and service in sf.services():
                raise ConfigError(f"{service} is defined in both {self.file} and {sf.path}",
                                  where=self.where(service),
                                  hint="a layout change edits one compose file; merge the definitions first")
        if id(node) in self.aliased or getattr(node, "merge", None):
            raise ConfigError(f"{service} is built from a YAML anchor or merge key (<<); stacktui will not edit it",
                              where=self.where(service), hint="write the service out in full, then try again")
        self.merges.watch(service, node)
        if service not in self.touched:
            self.touched.append(service)
        return node

    def _name_of(self, m: CommentedMap) -> str:
        """A map that merges an anchor, as a user finds it: its service, else where it is written."""
        name = next((str(k) for k, v in self.services.items() if v is m), None)
        if name is not None:
            return name
        line = getattr(getattr(m, "lc", None), "line", None)
        return f"the map at {self.file.name}:{line + 1}" if line is not None else "another map"

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
        if self.slices is not None:
            return self._ends(self.slices.render(self.notes))
        assert self.base is not None  # made with the tree
        self.merges.settle()
        self.notes += [n for n in self.merges.notes if n not in self.notes]
        edited = yamledit.dump(self.yaml, self.tree)
        text = yamledit.carry_over(self.text, self.base, edited)
        if text is None:
            text = edited
            self.notes.append(f"{self.file.name} is not written the way ruamel.yaml writes YAML; "
                              "lines near the change were re-indented")
        return self._ends(text)

    def _ends(self, text: str) -> str:
        """The file's own line ends and byte-order mark put back."""
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
        names = list(dict.fromkeys([*self.project.services, *self.services]))
        for name in names:
            if self.slices is not None and not self._would_rewrite(self.slices.values.get(name), rule_for, name):
                self._check_effective_env(name, rule_for(name, True), set(), service)
                continue
            node = self.services.get(name)
            changed_keys: set[str] = set()
            if isinstance(node, CommentedMap):
                changed_keys = self._rewrite_env(name, node, rule_for(name, True))
                ext = node.get("x-stacktui")
                rule = rule_for(name, False)
                if isinstance(ext, CommentedMap) and isinstance(ext.get("health"), str) and rule:
                    new = rewrite_refs(ext["health"], rule)
                    if new != ext["health"]:
                        self.node(name)
                        ext["health"] = yamledit.same_style(ext["health"], new)
            self._check_effective_env(name, rule_for(name, True), changed_keys, service)

    @staticmethod
    def _would_rewrite(node: Any, rule_for: Callable[[str, bool], Rule | None], name: str) -> bool:
        """Whether rewrite_settings would change this service, judged on the values the project read
        (the same as ruamel's round trip holds), so that a big file's other services are never read again."""
        if not isinstance(node, CommentedMap):
            return False
        env, ext = node.get("environment"), node.get("x-stacktui")
        rule, health_rule = rule_for(name, True), rule_for(name, False)
        values = [item.split("=", 1)[1] for item in env if isinstance(item, str) and "=" in item] \
            if isinstance(env, CommentedSeq) else [v for v in env.values() if isinstance(v, str)] \
            if isinstance(env, CommentedMap) else []
        if rule is not None and any(rewrite_refs(v, rule) != v for v in values):
            return True
        health = ext.get("health") if isinstance(ext, CommentedMap) else None
        return health_rule is not None and isinstance(health, str) and rewrite_refs(health, health_rule) != health

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
        found: list[set[int] | None] = [container_ports(item) for item in seq]
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
        if not self.has(service):  # defined in another file: fine while none of its entries would move
            if any(pick(ps) for ps in self._effective_ports(service, key)):
                self.node(service)  # refuses, naming the file that defines it
            return [], None, ""
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

    def _effective_ports(self, service: str, key: str) -> list[set[int]]:
        spec = self.project.services.get(service)
        if spec is None:
            return []
        if key == "ports":
            return [{p.target} for p in spec.ports]
        return [ps for ps in (container_ports(str(e)) for e in spec.expose) if ps is not None]

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
        yamledit.insert_keys(node, early_position(node) if pos is None else pos, [(key, yamledit.new_seq(items))])


def early_position(node: CommentedMap, before: str | None = None) -> int:
    """Where a new key goes: just before `before` if present, else after the usual first keys."""
    keys = list(node.keys())
    if before and before in keys:
        return keys.index(before)
    last = -1
    for i, k in enumerate(keys):
        if k in _EARLY_KEYS:
            last = i
    return last + 1


def container_ports(item: Any) -> set[int] | None:
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


def take_and_close(ed: LayoutEditor, service: str, key: str, pick: Callable[[set[int]], bool],
                    moving: set[int]) -> list[tuple[Any, list[Any] | None]]:
    """take_entries, with the comment lines of an emptied list left where the list was."""
    taken, follower, gap = ed.take_entries(service, key, pick, moving)
    if follower is not None:
        node = ed.services[service]
        yamledit.place_gap(node, list(node.keys()).index(follower) if follower in node else len(node), gap)
    return taken


def quoted(text: str) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(text)
