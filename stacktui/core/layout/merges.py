"""A service map that is a YAML anchor other maps merge (`application: &app …`, `worker: {<<: *app}`).

A change edits the anchor's map, the service it moves; every map that merges it would change with
it. What a merging map inherited stays what it was: a key the change removes from the anchor, or
whose value it changes, is written in the merging map itself with its old value. A key the change
adds to the anchor would be inherited too, and YAML cannot say "not this one" in a merge: an empty
`ports` or `expose` list says it (Compose reads it as none); any other key refuses the change,
naming both maps and the fix.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.layout import yamledit

# Keys whose empty list means the same as no key at all.
_EMPTY_IS_NONE = ("ports", "expose")


def merged_maps(m: CommentedMap) -> list[CommentedMap]:
    """The maps m merges (`<<: *a` or `<<: [*a, *b]`), first one first."""
    found = getattr(m, "merge", None) or []
    # ruamel.yaml keeps (position, map) pairs in some versions, the maps themselves in others.
    return [item[1] if isinstance(item, tuple) else item for item in found]


def effective(m: CommentedMap) -> dict[Any, Any]:
    """Each key's value as YAML's merge gives it: written in m, else from the first merged map that has it."""
    out: dict[Any, Any] = {k: m[k] for k in yamledit.own_keys(m)}
    for merged in merged_maps(m):
        for k, v in effective(merged).items():
            out.setdefault(k, v)
    return out


def plain(value: Any) -> Any:
    """A tree's value without comments, anchors or styles, to compare two of them."""
    if isinstance(value, CommentedMap):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (CommentedSeq, list)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def maps_in(tree: Any) -> list[CommentedMap]:
    """Every map of the tree, once each."""
    seen: dict[int, CommentedMap] = {}
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, CommentedMap):
            if id(node) in seen:
                continue
            seen[id(node)] = node
            todo += [node[k] for k in yamledit.own_keys(node)] + merged_maps(node)
        elif isinstance(node, CommentedSeq):
            todo += list(node)
    return list(seen.values())


@dataclass
class Heir:
    """One map that merges an edited anchor, and what it inherited before the change."""

    name: str  # the service it is, or where it is
    node: CommentedMap
    before: dict[Any, Any]  # key -> its value as inherited, copied


@dataclass
class MergeGuard:
    """The maps that merge the services a change edits; checked once the edits are done."""

    tree: Any
    name_of: Callable[[CommentedMap], str]
    where_of: Callable[[str], SourceRef | None]
    heirs: dict[int, tuple[str, list[Heir]]] = field(default_factory=dict)  # id(anchor) -> its service, heirs
    notes: list[str] = field(default_factory=list)

    def watch(self, service: str, node: CommentedMap) -> None:
        """Before the first edit of node: remember what each map merging it inherits."""
        if id(node) in self.heirs or self.tree is None:
            return
        heirs = [Heir(self.name_of(m), m, {k: copy.deepcopy(v) for k, v in effective(m).items()
                                            if k not in yamledit.own_keys(m)})
                 for m in maps_in(self.tree) if any(merged is node for merged in merged_maps(m))]
        self.heirs[id(node)] = (service, heirs)

    def settle(self) -> None:
        """After the edits: each heir inherits what it did, or the change is refused."""
        for service, heirs in self.heirs.values():
            for heir in heirs:
                now = effective(heir.node)
                own = set(yamledit.own_keys(heir.node))
                kept: list[str] = []
                for key, old in heir.before.items():
                    if key in own:  # written in it already, by the removal of the anchor's key (yamledit)
                        kept.append(str(key))
                    elif key not in now or plain(now[key]) != plain(old):
                        heir.node[key] = old
                        kept.append(str(key))
                for key in now:
                    if key in own or key in heir.before:
                        continue
                    if key in _EMPTY_IS_NONE:
                        heir.node[key] = CommentedSeq()
                        kept.append(f"{key}: []")
                        continue
                    at = self.where_of(heir.name)
                    raise ConfigError(
                        f"{service}'s map is a YAML anchor that {heir.name}"
                        f"{f' (line {at.line})' if at else ''} merges (<<): the change gives "
                        f"{service} `{key}`, and {heir.name} would get it too",
                        where=self.where_of(service),
                        hint=f"put what {service} and {heir.name} share under an anchor of its own "
                             f"(`x-common: &common …`, merged by both), or write {heir.name} out in full; "
                             "then run this again")
                if kept:
                    self.notes.append(f"{heir.name} merges {service}'s map (<<): it keeps "
                                      f"{', '.join(kept)}, now written in {heir.name} itself")
