"""Whose is a port the namespace owner publishes, when x-stacktui.listens does not say: the comment on its line.

Users of a VPN or sidecar container that several apps join write which app a port is for
(`- "8080:8080" # app1`). When exactly one service of the namespace is named in that
comment, the port is that service's: a layout change suggests it for that one and never
moves it with another.
"""
from __future__ import annotations

import re
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from stacktui.core.compose.model import Project
from stacktui.core.layout.edit import container_ports

_WORD = re.compile(r"[A-Za-z0-9][\w.-]*")


def _comment(line: str, col: int) -> str:
    """The comment after the entry that starts at col (project.source is read without comments)."""
    pos = col
    if line[col:col + 1] in ("'", '"'):
        close = line.find(line[col], col + 1)
        pos = close + 1 if close > 0 else len(line)
    found = re.search(r"\s#(.*)$", line[pos:])
    return found.group(1) if found else ""


def commented_owners(project: Project, owner: str, members: list[str]) -> dict[int, str]:
    """Container port -> the one member the comment on the owner's `ports:` entry names."""
    found: dict[int, str] = {}
    names = set(members)
    for sf in project.source.files if project.source else []:
        node = sf.services().get(owner)
        seq = node.get("ports") if isinstance(node, CommentedMap) else None
        if not isinstance(seq, CommentedSeq):
            continue
        lines = sf.text.splitlines()
        for i, entry in enumerate(seq):
            try:
                row, col = seq.lc.item(i)
            except (KeyError, IndexError, TypeError):
                continue
            comment = _comment(lines[row], col) if row < len(lines) else ""
            named = {w.rstrip(".-") for w in _WORD.findall(comment)} & names
            ports = container_ports(entry)
            if len(named) == 1 and ports:
                for port in ports:
                    found[port] = next(iter(named))
    return found
