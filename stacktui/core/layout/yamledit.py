"""Edits on ruamel.yaml round-trip trees that leave every comment where a reader expects it.

ruamel.yaml hangs the comment lines that follow a node on that node (on the
last scalar of a block collection). Removing or moving a node would take those
lines with it, although they belong to the gap before the next key. So every
edit here splits a node's trailing comment into its end-of-line part, which
travels with the node, and the lines after it, which stay in the gap.
"""
from __future__ import annotations

import copy
import difflib
import io
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import ScalarString
from ruamel.yaml.tokens import CommentToken

from stacktui.core.compose.nesting import deep_nesting

Node = CommentedMap | CommentedSeq


def _is_block(node: Any) -> bool:
    return isinstance(node, (CommentedMap, CommentedSeq)) and len(node) > 0 and not node.fa.flow_style()


def _last_key(node: Node) -> Any:
    return list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1


def _tail_slot(parent: Node, key: Any) -> tuple[dict[Any, list[Any]], Any, int]:
    """Where the comment after parent[key] lives: (ca.items, key, index in its list)."""
    node = parent[key]
    if _is_block(node):
        return _tail_slot(node, _last_key(node))
    return parent.ca.items, key, 2 if isinstance(parent, CommentedMap) else 0


def _token(items: dict[Any, list[Any]], key: Any, i: int) -> CommentToken | None:
    entry = items.get(key)
    if entry and len(entry) > i and isinstance(entry[i], CommentToken):
        return entry[i]
    return None


def take_trailing(parent: Node, key: Any) -> str:
    """Detach the comment lines after parent[key] (its end-of-line comment stays); return them."""
    items, k, i = _tail_slot(parent, key)
    tok = _token(items, k, i)
    if tok is None:
        return ""
    value = tok.value
    cut = value.find("\n")
    if cut < 0:
        return ""
    eol, rest = value[:cut + 1], value[cut + 1:]
    if eol.strip():
        tok.value = eol
    else:
        items[k][i] = None
        if not any(items[k]):
            del items[k]
    return rest


def give_trailing(parent: Node, key: Any, rest: str) -> None:
    """Hang comment lines after parent[key] (after its end-of-line comment, if any)."""
    if not rest:
        return
    items, k, i = _tail_slot(parent, key)
    tok = _token(items, k, i)
    if tok is None:
        entry = items.setdefault(k, [None, None, None, None])
        while len(entry) <= i:
            entry.append(None)
        entry[i] = CommentToken("\n" + rest, CommentMark(0))
    else:
        value = tok.value
        tok.value = (value if value.endswith("\n") else value + "\n") + rest


def _give_before(m: CommentedMap, key: Any, rest: str) -> None:
    """Comment lines in front of a key that has nothing before it in its map."""
    entry = m.ca.items.setdefault(key, [None, None, None, None])
    pre = entry[1] if isinstance(entry[1], list) else []
    entry[1] = [CommentToken(rest, CommentMark(0)), *pre]


def own_keys(m: CommentedMap) -> list[Any]:
    """Keys written in this map, not pulled in by a `<<:` merge."""
    own = getattr(m, "_ok", None)  # ruamel keeps the keys written in the map itself there
    return [k for k in m if own is None or k in own]


def remove_keys(m: CommentedMap, keys: Iterable[Any]) -> tuple[int, str]:
    """Remove keys; return the position of the first and the comment lines that followed them."""
    order = list(m.keys())
    doomed = sorted((k for k in keys if k in m), key=order.index)
    if not doomed:
        return len(order), ""
    pos = order.index(doomed[0])
    gap = ""
    for k in doomed:
        gap += take_trailing(m, k)
        _keep_for_heirs(m, k)
        del m[k]
        m.ca.items.pop(k, None)
    return pos, gap


def _keep_for_heirs(m: CommentedMap, key: Any) -> None:
    """Each map that merges m (`<<: *anchor`) and does not set key itself keeps key's value, written
    in it now: removing a key from an anchor does not remove it from the maps built on it. (ruamel
    lists those maps in `_ref`; its own update of them fails on a key they do not set.)"""
    for heir in getattr(m, "_ref", ()):
        if isinstance(heir, CommentedMap) and key not in own_keys(heir) and key in heir:
            heir[key] = copy.deepcopy(heir[key])  # what it inherits now, whichever merged map gave it


def insert_keys(m: CommentedMap, pos: int, pairs: list[tuple[Any, Any]], gap: str = "") -> None:
    """Insert pairs at pos; the gap's comment lines end up after the last of them."""
    for n, (k, v) in enumerate(pairs):
        m.ca.items.pop(k, None)
        m.insert(pos + n, k, v)
    place_gap(m, pos + len(pairs), gap)


def place_gap(m: CommentedMap, pos: int, gap: str) -> None:
    """Comment lines that belong just before the key now at pos (or at the map's end)."""
    if not gap:
        return
    keys = list(m.keys())
    if pos > 0:
        give_trailing(m, keys[pos - 1], gap)
    elif keys:
        _give_before(m, keys[0], gap)


def detach_items(seq: CommentedSeq, indices: Iterable[int]) -> tuple[list[tuple[Any, list[Any] | None]], str]:
    """Take items out of a sequence with their end-of-line comments.

    Returns the items (value, comment entry) in order, and the comment lines that
    followed removed items with no remaining item before them to hang on.
    """
    chosen = sorted(set(indices))
    taken: list[tuple[Any, list[Any] | None]] = []
    orphan = ""
    for idx in reversed(chosen):
        rest = take_trailing(seq, idx)
        entry = seq.ca.items.get(idx)
        value = seq[idx]
        del seq[idx]  # CommentedSeq shifts the comments of later items itself
        taken.append((value, list(entry) if entry else None))
        if rest:
            if idx > 0:
                give_trailing(seq, idx - 1, rest)
            else:
                orphan = rest + orphan
    taken.reverse()
    return taken, orphan


def append_items(seq: CommentedSeq, items: list[tuple[Any, list[Any] | None]]) -> None:
    """Append items with their comments; lines that followed the old last item follow the new one."""
    if not items:
        return
    rest = take_trailing(seq, len(seq) - 1) if len(seq) else ""
    for value, entry in items:
        seq.append(value)
        if entry:
            seq.ca.items[len(seq) - 1] = entry
    give_trailing(seq, len(seq) - 1, rest)


def new_seq(items: list[tuple[Any, list[Any] | None]]) -> CommentedSeq:
    seq = CommentedSeq()
    append_items(seq, items)
    return seq


def same_style(old: Any, text: str) -> Any:
    """text as a scalar quoted the way old was."""
    if isinstance(old, ScalarString):
        new = type(old)(text)
        anchor = getattr(old, "anchor", None)
        if anchor is not None and anchor.value:
            new.yaml_set_anchor(anchor.value, always_dump=anchor.always_dump)
        return new
    return text


def aliased_nodes(tree: Any) -> set[int]:
    """ids of collections that appear more than once in the tree (YAML anchors and aliases)."""
    seen: set[int] = set()
    twice: set[int] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, (CommentedMap, CommentedSeq)):
            return
        if id(node) in seen:
            twice.add(id(node))
            return
        seen.add(id(node))
        for child in (node.values() if isinstance(node, CommentedMap) else node):
            walk(child)

    walk(tree)
    return twice


def dump(yaml: YAML, tree: Any) -> str:
    buf = io.StringIO()
    with deep_nesting():  # the emitter recurses once per level, as the reader did
        yaml.dump(tree, buf)
    return buf.getvalue()


def carry_over(original: str, base: str, edited: str) -> str | None:
    """Apply the edit base -> edited to original, where base is original as ruamel re-emits it.

    When a file is not written in ruamel's style (odd spacing, several indent styles),
    a plain dump would restyle it throughout. The line changes between the two dumps,
    placed on the original's own lines, keep every other line as it was. None when an
    edit touches a line whose original differs from the re-emitted one.
    """
    if base == original:
        return edited
    orig_lines = original.splitlines(keepends=True)
    base_lines = base.splitlines(keepends=True)
    new_lines = edited.splitlines(keepends=True)
    where: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, base_lines, orig_lines, autojunk=False).get_matching_blocks():
        for n in range(block.size):
            where[block.a + n] = block.b + n
    out: list[str] = []
    cursor = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            if any(i not in where for i in range(i1, i2)):
                return None
            start, end = where[i1], where[i2 - 1] + 1
            if end - start != i2 - i1:
                return None
        elif i1 in where:
            start = end = where[i1]
        elif i1 > 0 and (i1 - 1) in where:
            start = end = where[i1 - 1] + 1
        elif i1 == 0:
            start = end = 0
        else:
            return None
        if start < cursor:
            return None
        out += orig_lines[cursor:start]
        out += new_lines[j1:j2]
        cursor = end
    out += orig_lines[cursor:]
    return "".join(out)
