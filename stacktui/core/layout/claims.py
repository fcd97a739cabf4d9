"""Whose is a port the namespace owner publishes, when x-stacktui.listens does not say: the comment on its line.

Users of a VPN or sidecar container that several apps join write which app a port is for
(`- "8080:8080" # app1`). When exactly one service of the namespace is named in that
comment, the port is that service's: a layout change suggests it for that one and never
moves it with another.
"""
from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from stacktui.core.compose.model import Project
from stacktui.core.layout.edit import container_ports

_WORD = re.compile(r"[A-Za-z0-9][\w.-]*")


def _comment(seq: CommentedSeq, index: int) -> str:
    tokens: Any = seq.ca.items.get(index) if hasattr(seq, "ca") else None
    # Only the entry's own line: a token also carries the comment lines that follow it.
    return " ".join(str(getattr(t, "value", "")).split("\n", 1)[0]
                    for t in (tokens or []) if t is not None and not isinstance(t, list))


def commented_owners(project: Project, owner: str, members: list[str]) -> dict[int, str]:
    """Container port -> the one member the comment on the owner's `ports:` entry names."""
    found: dict[int, str] = {}
    names = set(members)
    for sf in project.source.files if project.source else []:
        node = sf.services().get(owner)
        seq = node.get("ports") if isinstance(node, CommentedMap) else None
        if not isinstance(seq, CommentedSeq):
            continue
        for i, entry in enumerate(seq):
            named = {w.rstrip(".-") for w in _WORD.findall(_comment(seq, i).split("#", 1)[-1])} & names
            ports = container_ports(entry)
            if len(named) == 1 and ports:
                for port in ports:
                    found[port] = next(iter(named))
    return found
